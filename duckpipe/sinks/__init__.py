"""Lake sinks, chosen by table format and URI scheme.

``open_sink("./lake")`` is a Delta lake on local disk; ``format="iceberg"`` an Iceberg
one (SQL catalog on SQLite under the project's ``.duckpipe/`` unless ``catalog.uri``
names PostgreSQL); ``s3://bucket/prefix`` puts either on object storage and
``memory://name`` gives the in-memory twin used by fast tests.
"""

from __future__ import annotations

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

FORMATS = ("delta", "iceberg")


def open_sink(
    uri: str,
    *,
    format: str = "delta",
    storage_options: dict[str, str] | None = None,
    catalog: CatalogConfig | None = None,
    state_dir: Path | None = None,
) -> Sink:
    """The sink for ``format`` rooted at ``uri`` (a local path, ``s3://``, or ``memory://``)."""
    if uri.startswith("memory://"):
        from duckpipe.sinks.memory import MemorySink

        return MemorySink.named(uri)
    if format == "delta":
        from duckpipe.sinks.delta import DeltaSink

        return DeltaSink(uri, storage_options=storage_options)
    if format == "iceberg":
        from duckpipe.sinks.iceberg import IcebergSink

        kwargs: dict[str, Any] = {"storage_options": storage_options, "state_dir": state_dir}
        if catalog is not None:
            kwargs["catalog_uri"] = catalog.uri
            kwargs["namespace"] = catalog.namespace
        return IcebergSink(uri, **kwargs)
    raise ConfigError(
        f"unknown table format '{format}'",
        where="format",
        hint=did_you_mean(format, FORMATS) or "use delta or iceberg",
    )


__all__ = [
    "Capabilities",
    "CommitResult",
    "MaintenanceResult",
    "MergeSpec",
    "Position",
    "SchemaMode",
    "Sink",
    "TableInfo",
    "WriteMode",
    "open_sink",
]
