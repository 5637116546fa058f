"""The Sink protocol: a lake table format that commits Arrow data plus a source position atomically.

Three implementations share one contract (``tests/sinks/test_contract.py``): Delta
(``deltalake``), Iceberg (``pyiceberg``) and an in-memory twin for fast unit tests.
Callers check ``capabilities`` instead of the sink's type. ``BaseSink.write`` is the part
of a write every format shares (materialise, schema mode, merge spec, retry); each sink
implements only ``_commit``, one attempt against the table as it is now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

from duckpipe.core.errors import CommitConflict, SinkError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

WriteMode = Literal["append", "overwrite", "merge"]
SchemaMode = Literal["strict", "evolve", "overwrite"]
"""How a write treats a schema that differs from the table's.

``strict``: the data must fit the table (after safe casts). ``evolve``: new nullable
columns are added to the table. ``overwrite``: a whole-table overwrite replaces the schema.
"""

MergeStrategy = Literal["auto", "library", "rewrite"]
"""``library``: the format library's own MERGE. ``rewrite``: duckpipe computes the new
contents of the touched partitions/files in DuckDB and replaces them in one commit."""

DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024
DEFAULT_RETENTION_HOURS = 168
COMMIT_ATTEMPTS = 6
T = TypeVar("T")


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
    supports_partition_transforms: bool = False
    supports_sort_order: bool = False
    supports_compaction: bool = False
    supports_vacuum: bool = False


@dataclass(frozen=True)
class MergeSpec:
    """Predicate-based upsert: match on ``keys`` (plus ``predicate``), then apply the clauses.

    Expressions are SQL over two aliases: ``s`` (the incoming rows) and ``t`` (the table).

    >>> MergeSpec(keys=["id"], predicate="s.updated_at > t.updated_at",
    ...           update={"amount": "s.amount"}, delete_when="s.deleted")  # doctest: +ELLIPSIS
    MergeSpec(keys=['id'], ...)
    """

    keys: list[str]
    predicate: str | None = None
    update: Literal["all", "none"] | dict[str, str] = "all"
    insert: bool = True
    delete_when: str | None = None
    strategy: MergeStrategy = "auto"


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


@dataclass
class MaintenanceResult:
    """What a compaction, Z-order or vacuum did."""

    table: str
    operation: str
    version: int | None = None
    files_removed: int = 0
    files_added: int = 0
    bytes_removed: int = 0
    snapshots_expired: int = 0
    dry_run: bool = False
    paths: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class TableInfo:
    """A summary of one table for ``duckpipe table show``."""

    name: str
    format: str
    location: str
    version: int | None
    schema: pa.Schema
    partition_by: list[str] = field(default_factory=list)
    sort_by: list[str] = field(default_factory=list)
    num_files: int = 0
    num_rows: int = 0
    size_bytes: int = 0
    properties: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Sink(Protocol):
    """A table format under one lake root. Tables are addressed by name.

    Names may contain ``/`` (``_dlq/orders``); names starting with ``_`` are internal
    (dead letters, quarantined rows) and are not attached to SQL by name.
    """

    capabilities: Capabilities
    format: str
    root: str

    def exists(self, table: str) -> bool:
        """Whether ``table`` exists in the lake."""
        ...

    def tables(self) -> list[str]:
        """Names of every table under the lake root."""
        ...

    def create(
        self,
        table: str,
        schema: pa.Schema,
        *,
        partition_by: list[str] | None = None,
        sort_by: list[str] | None = None,
    ) -> None:
        """Create an empty table from an Arrow schema (partition transforms: ``day(ts)``...)."""
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
        schema_mode: SchemaMode | None = None,
        sort_by: list[str] | None = None,
    ) -> CommitResult:
        """Commit ``data`` (and ``position``, if given) to ``table`` in one atomic commit.

        ``predicate`` with ``mode="overwrite"`` replaces only the rows it matches (the new
        rows must match it too). A missing table is created (``partition_by``, ``sort_by``).
        """
        ...

    def read_position(self, table: str, writer_id: str) -> Position | None:
        """The latest position committed by ``writer_id`` to ``table``, or None."""
        ...

    def dataset(
        self, table: str, *, version: int | None = None, timestamp: str | datetime | None = None
    ) -> ds.Dataset:
        """A pyarrow dataset of ``table`` (optionally as of a version or time), for pushdown scans."""
        ...

    def schema(self, table: str) -> pa.Schema:
        """The table's current Arrow schema."""
        ...

    def version(self, table: str) -> int | None:
        """The current version (Delta) or snapshot sequence number (Iceberg) of ``table``."""
        ...

    def history(self, table: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Commits of ``table``, newest first: version, timestamp, operation, positions, metrics."""
        ...

    def describe(self, table: str) -> TableInfo:
        """Schema, partitioning, file and row counts of ``table``."""
        ...

    def compact(
        self, table: str, *, target_size: int = DEFAULT_TARGET_FILE_SIZE
    ) -> MaintenanceResult:
        """Bin-pack small files into files near ``target_size`` bytes, in one atomic commit."""
        ...

    def vacuum(
        self,
        table: str,
        *,
        retention_hours: float = DEFAULT_RETENTION_HOURS,
        dry_run: bool = False,
        enforce_retention: bool = True,
    ) -> MaintenanceResult:
        """Expire old versions and delete files no version within ``retention_hours`` needs."""
        ...

    def drop(self, table: str) -> None:
        """Delete ``table`` and its files."""
        ...


@dataclass(frozen=True)
class WriteRequest:
    """One write after the checks every sink shares: replayable rows, the resolved schema mode."""

    table: str
    data: pa.Table
    mode: WriteMode
    schema_mode: SchemaMode
    partition_by: list[str] | None = None
    merge: MergeSpec | None = None
    predicate: str | None = None
    position: Position | None = None
    sort_by: list[str] | None = None


class BaseSink:
    """``write`` for every sink (template method): the format implements ``_commit``."""

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
        schema_mode: SchemaMode | None = None,
        sort_by: list[str] | None = None,
    ) -> CommitResult:
        """See ``Sink.write``. A commit that loses to a concurrent one is planned again."""
        rows = materialize(data)
        resolved = resolve_schema_mode(mode, predicate, schema_mode)
        if mode == "merge" and merge is None:
            raise SinkError(
                "mode='merge' needs a MergeSpec",
                where=table,
                hint="pass merge=MergeSpec(keys=[...])",
            )
        request = WriteRequest(
            table, rows, mode, resolved, partition_by, merge, predicate, position, sort_by
        )
        return with_retry(lambda: self._commit(request), table=table)

    def _commit(self, request: WriteRequest) -> CommitResult:
        """One attempt: read the table as it is now (a missing one is created), commit once.

        Raise a retryable ``CommitConflict`` when another writer won; ``write`` calls again.
        """
        raise NotImplementedError


def materialize(data: pa.Table | pa.RecordBatchReader) -> pa.Table:
    """A table from a table or a reader (a commit may be retried, so rows must be replayable)."""
    import pyarrow as pa

    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    if isinstance(data, pa.Table):
        return data
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    raise SinkError(
        f"cannot write a {type(data).__name__}",
        hint="pass a pyarrow Table or RecordBatchReader (DuckDB: .to_arrow_table())",
    )


def resolve_schema_mode(
    mode: WriteMode, predicate: str | None, schema_mode: SchemaMode | None
) -> SchemaMode:
    """Default: a whole-table overwrite replaces the schema; every other write may add columns."""
    if schema_mode is not None:
        if schema_mode == "overwrite" and (mode != "overwrite" or predicate):
            raise SinkError(
                "schema_mode='overwrite' needs mode='overwrite' without a predicate",
                hint="use schema_mode='evolve' to add columns on other writes",
            )
        return schema_mode
    return "overwrite" if mode == "overwrite" and not predicate else "evolve"


def with_retry(commit: Callable[[], T], *, table: str, attempts: int = COMMIT_ATTEMPTS) -> T:
    """Run ``commit``; when it raises a retryable CommitConflict, run it again (with backoff).

    ``commit`` must re-read the table each time: a merge or an overwrite is re-planned
    against what the winning writer committed.
    """
    from tenacity import (
        RetryError,
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        wait_random_exponential,
    )

    retrying = Retrying(
        retry=retry_if_exception(lambda e: isinstance(e, CommitConflict) and e.retryable),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.05, max=2.0),
        reraise=False,
    )
    try:
        return retrying(commit)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise CommitConflict(
            f"gave up committing to '{table}' after {attempts} attempts: other writers kept "
            f"committing first ({last})",
            where=table,
            hint="reduce concurrent writers to this table or retry later",
            retryable=False,
        ) from last
