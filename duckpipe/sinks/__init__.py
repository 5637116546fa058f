"""Lake sinks, chosen by URI scheme and table format from one registry.

``open_sink("./lake")`` is a Delta lake on local disk; ``format="iceberg"`` an Iceberg
one (SQL catalog on SQLite under the project's ``.duckpipe/`` unless ``catalog.uri``
names PostgreSQL); ``s3://bucket/prefix`` puts either on object storage. A scheme that
names a sink picks it whatever ``format`` says: ``delta://./lake``, ``iceberg://./lake``,
and ``memory://name``, the in-memory twin used by fast tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ConfigError, did_you_mean
from duckpipe.sinks.base import (
    Capabilities,
    CommitResult,
    MaintenanceResult,
    MergeSpec,
    Position,
    SchemaMode,
    Sink,
    TableInfo,
    WriteMode,
)

if TYPE_CHECKING:
    from duckpipe.config import CatalogConfig


@dataclass(frozen=True)
class SinkOptions:
    """What a sink may need besides its root; each kind takes what it uses."""

    storage_options: dict[str, str] | None = None
    catalog: CatalogConfig | None = None
    state_dir: Path | None = None


def load_memory(uri: str, options: SinkOptions) -> Sink:
    from duckpipe.sinks.memory import MemorySink

    return MemorySink.named(uri)


def load_delta(root: str, options: SinkOptions) -> Sink:
    from duckpipe.sinks.delta import DeltaSink

    return DeltaSink(root, storage_options=options.storage_options)


def load_iceberg(root: str, options: SinkOptions) -> Sink:
    from duckpipe.sinks.iceberg import IcebergSink

    kwargs: dict[str, Any] = {}
    if options.catalog is not None:
        kwargs = {"catalog_uri": options.catalog.uri, "namespace": options.catalog.namespace}
    return IcebergSink(
        root, storage_options=options.storage_options, state_dir=options.state_dir, **kwargs
    )


# kind -> loader; each imports its format library only when called.
AVAILABLE_SINKS: dict[str, Callable[[str, SinkOptions], Sink]] = {
    "memory": load_memory,
    "delta": load_delta,
    "iceberg": load_iceberg,
}
FORMATS = ("delta", "iceberg")
"""The table formats a project's ``format:`` may name (memory is chosen by URI only)."""


def sink_kind(uri: str, format: str = "delta") -> tuple[str, str]:
    """The registry kind for ``uri`` and the root handed to its loader.

    >>> sink_kind("s3://bucket/lake", "iceberg"), sink_kind("delta://./lake", "iceberg")
    (('iceberg', 's3://bucket/lake'), ('delta', './lake'))
    """
    scheme, sep, rest = uri.partition("://")
    if sep and scheme in AVAILABLE_SINKS:
        return scheme, uri if scheme == "memory" else rest
    if format not in FORMATS:
        raise ConfigError(
            f"unknown table format '{format}'",
            where="format",
            hint=did_you_mean(format, FORMATS) or "use delta or iceberg",
        )
    return format, uri


def open_sink(
    uri: str,
    *,
    format: str = "delta",
    storage_options: dict[str, str] | None = None,
    catalog: CatalogConfig | None = None,
    state_dir: Path | None = None,
) -> Sink:
    """The sink for ``format`` rooted at ``uri`` (a local path, ``s3://``, ``delta://``,
    ``iceberg://`` or ``memory://``)."""
    kind, root = sink_kind(uri, format)
    return AVAILABLE_SINKS[kind](root, SinkOptions(storage_options, catalog, state_dir))


__all__ = [
    "AVAILABLE_SINKS",
    "Capabilities",
    "CommitResult",
    "MaintenanceResult",
    "MergeSpec",
    "Position",
    "SchemaMode",
    "Sink",
    "SinkOptions",
    "TableInfo",
    "WriteMode",
    "open_sink",
    "sink_kind",
]
