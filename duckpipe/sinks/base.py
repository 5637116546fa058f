"""The Sink protocol: a lake table format that commits Arrow data plus a source position atomically."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

WriteMode = Literal["append", "overwrite", "merge"]


@dataclass(frozen=True)
class Position:
    """Where a writer's source stood when a commit was made (a watermark, Kafka offsets...).

    ``value`` is JSON-serialisable. ``writer_id`` names the pipeline step that owns it
    (``source:orders``, ``stream:clicks``) so several writers can share one table.
    """

    writer_id: str
    value: dict[str, Any]


@dataclass(frozen=True)
class Capabilities:
    """What a sink can do; callers check these instead of the sink's type."""

    supports_merge: bool = False
    supports_exactly_once: bool = False
    supports_time_travel: bool = False
    supports_partitioning: bool = False
    supports_zorder: bool = False


@dataclass(frozen=True)
class MergeSpec:
    """Predicate-based upsert: match on ``keys`` (plus ``predicate``), then apply the clauses."""

    keys: list[str]
    predicate: str | None = None
    update: Literal["all", "none"] | dict[str, str] = "all"
    insert: bool = True
    delete_when: str | None = None


@dataclass
class CommitResult:
    """What one commit did."""

    table: str
    version: int | None
    rows_written: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Sink(Protocol):
    """A table format under one lake root. Tables are addressed by name."""

    capabilities: Capabilities

    def exists(self, table: str) -> bool:
        """Whether ``table`` exists in the lake."""
        ...

    def tables(self) -> list[str]:
        """Names of every table under the lake root."""
        ...

    def write(
        self,
        table: str,
        data: pa.Table | pa.RecordBatchReader,
        *,
        mode: WriteMode = "append",
        partition_by: list[str] | None = None,
        merge: MergeSpec | None = None,
        predicate: str | None = None,
        position: Position | None = None,
    ) -> CommitResult:
        """Commit ``data`` (and ``position``, if given) to ``table`` in one atomic commit."""
        ...

    def read_position(self, table: str, writer_id: str) -> Position | None:
        """The latest position committed by ``writer_id`` to ``table``, or None."""
        ...

    def dataset(
        self, table: str, *, version: int | None = None, timestamp: str | None = None
    ) -> ds.Dataset:
        """A pyarrow dataset of ``table`` (optionally as of a version or time), for pushdown scans."""
        ...

    def version(self, table: str) -> int | None:
        """The current version (Delta) or snapshot sequence (Iceberg) of ``table``."""
        ...

    def history(self, table: str) -> list[dict[str, Any]]:
        """Commits of ``table``, newest first."""
        ...
