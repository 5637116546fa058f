"""Delta Lake sink over delta-rs (``deltalake``).

Tables are folders ``<root>/<name>`` holding a ``_delta_log``. A source position is
committed with the rows as an app transaction (``txn`` action: writer id -> sequence
number, kept in checkpoints) plus commit metadata with the position itself. Every
duckpipe commit carries the positions of all writers forward, so they survive log
clean-up; the app transaction fences two processes that write as the same writer
(``delta_commit.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from duckpipe.core.errors import SinkError, did_you_mean
from duckpipe.sinks.base import (
    DEFAULT_RETENTION_HOURS,
    DEFAULT_TARGET_FILE_SIZE,
    BaseSink,
    Capabilities,
    CommitResult,
    MaintenanceResult,
    MergeSpec,
    Position,
    TableInfo,
    WriteRequest,
)
from duckpipe.sinks.delta_commit import (
    CommitMemo,
    commit_errors,
    commit_positions,
    commit_properties,
    stored_position,
    writer_moved,
)
from duckpipe.sinks.delta_table import SORT_BY_KEY, arrow_schema, readable_dataset, table_sort_by
from duckpipe.sinks.positions import POSITIONS_KEY, decode_map
from duckpipe.sinks.storage import StorageConfig, delete_tree, find_dirs_with, is_remote

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds
    from deltalake import CommitProperties, DeltaTable

    from duckpipe.sinks.prepare import Prepared


class DeltaSink(BaseSink):
    """A folder (local or ``s3://``) of Delta tables."""

    format = "delta"
    capabilities = Capabilities(
        supports_merge=True,
        supports_exactly_once=True,
        supports_time_travel=True,
        supports_partitioning=True,
        supports_zorder=True,
        supports_compaction=True,
        supports_vacuum=True,
    )

    def __init__(self, root: str, *, storage_options: dict[str, str] | None = None) -> None:
        import os

        self.root = root.rstrip("/") if is_remote(root) else os.path.abspath(root)
        self.storage = StorageConfig.from_options(storage_options, use_env=is_remote(root))
        self.storage_options = self.storage.delta_options() if is_remote(root) else {}
        self.merge_strategy = "auto"
        self._handles: dict[str, DeltaTable] = {}
        self._fresh: set[str] = set()  # handles just brought up to date by read_position
        self._memo = CommitMemo()

    def _before_commit(self) -> None:
        """Called between planning a write and committing it; tests use it to interleave a rival."""

    def uri(self, table: str) -> str:
        return f"{self.root}/{table}"

    # -- catalog ---------------------------------------------------------------
    def exists(self, table: str) -> bool:
        from deltalake import DeltaTable

        return DeltaTable.is_deltatable(self.uri(table), storage_options=self.storage_options)

    def tables(self) -> list[str]:
        return find_dirs_with(self.root, self.storage, "_delta_log")

    def _open(self, table: str) -> DeltaTable:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:
            return DeltaTable(self.uri(table), storage_options=self.storage_options)
        except TableNotFoundError:
            raise SinkError(
                f"no Delta table '{table}' in {self.root}",
                where=table,
                hint=did_you_mean(table, self.tables()) or "write to it first",
            ) from None

    def _latest(self, table: str, *, writing: bool = False) -> DeltaTable:
        """The table at its newest version: the handle of the last call brought up to date
        (reads only the new commits; a streaming writer commits every few seconds), else opened.

        ``writing``: a write right after ``read_position`` takes the handle as that read
        left it; delta-rs checks for newer commits when it commits (and resolves or rejects).
        """
        dt = self._handles.get(table)
        fresh = table in self._fresh
        self._fresh.discard(table)
        if dt is not None and fresh and writing:
            return dt
        if dt is not None:
            try:
                dt.update_incremental()
                return dt
            except Exception:  # deleted or rewritten meanwhile: open it afresh
                del self._handles[table]
        dt = self._handles[table] = self._open(table)
        return dt

    def _open_or_none(self, table: str) -> DeltaTable | None:
        return self._open(table) if self.exists(table) else None

    def create(
        self,
        table: str,
        schema: pa.Schema,
        *,
        partition_by: list[str] | None = None,
        sort_by: list[str] | None = None,
    ) -> None:
        from deltalake import DeltaTable

        from duckpipe.sinks.partitioning import check_columns, parse_sorts
        from duckpipe.sinks.schema import lake_schema

        if self.exists(table):
            raise SinkError(f"table '{table}' already exists in {self.root}", where=table)
        columns = _partition_columns(partition_by, schema.names, table)
        check_columns(parse_sorts(sort_by), schema.names, table)
        config = {SORT_BY_KEY: ",".join(sort_by)} if sort_by else None
        DeltaTable.create(
            self.uri(table),
            schema=lake_schema(schema),
            partition_by=columns or None,
            storage_options=self.storage_options,
            configuration=config,
        )

    def drop(self, table: str) -> None:
        self._open(table)
        self._handles.pop(table, None)
        self._memo.forget(table)
        delete_tree(self.uri(table), self.storage)

    # -- writes ----------------------------------------------------------------
    def _commit(self, request: WriteRequest) -> CommitResult:
        if not self.exists(request.table):
            return self._create_with(request)
        return self._write_once(request)

    def _create_with(self, request: WriteRequest) -> CommitResult:
        """The first write creates the table: version 0 holds the rows (and the position)."""
        from deltalake import write_deltalake

        from duckpipe.sinks.partitioning import check_columns, parse_sorts, sort_table
        from duckpipe.sinks.prepare import prepare

        table, incoming, position = request.table, request.data, request.position
        partition_by, sort_by = request.partition_by, request.sort_by
        columns = _partition_columns(partition_by, incoming.schema.names, table)
        sorts = parse_sorts(sort_by)
        check_columns(sorts, incoming.schema.names, table)
        rows = sort_table(prepare(incoming, None, table=table, schema_mode="evolve").data, sorts)
        with commit_errors(table, position):
            write_deltalake(  # type: ignore[call-overload, misc]
                self.uri(table),
                rows,
                mode="error",
                partition_by=columns or None,
                storage_options=self.storage_options,
                commit_properties=commit_properties(None, position),
                configuration={SORT_BY_KEY: ",".join(sort_by)} if sort_by else None,
            )
        return CommitResult(table, 0, rows_written=rows.num_rows, rows_inserted=rows.num_rows)

    def _write_once(self, request: WriteRequest) -> CommitResult:
        from deltalake import write_deltalake

        from duckpipe.sinks.partitioning import parse_sorts, sort_table
        from duckpipe.sinks.prepare import prepare

        table, mode, merge, position = request.table, request.mode, request.merge, request.position
        dt = self._latest(table, writing=True)
        base = dt.version()
        current = arrow_schema(dt)
        prepared = prepare(
            request.data,
            current,
            table=table,
            schema_mode=request.schema_mode,
            partial=mode == "merge",
        )
        props, positions = commit_positions(dt, position, self._memo.positions(table, dt))
        moved = writer_moved(dt, position, lambda: self._open(table))
        self._memo.forget(table)
        if mode == "merge":
            assert merge is not None
            self._before_commit()
            with commit_errors(table, position, moved):
                return self._merge(dt, table, prepared, merge, props)
        rows = sort_table(prepared.data, parse_sorts(table_sort_by(dt)))
        delta_schema_mode: Literal["merge", "overwrite"] | None = (
            "overwrite" if prepared.replace_schema else ("merge" if prepared.new_fields else None)
        )
        self._before_commit()
        with commit_errors(table, position, moved):
            write_deltalake(  # type: ignore[call-overload, misc]
                dt,
                rows,
                mode=mode,  # type: ignore[arg-type]
                predicate=request.predicate,
                schema_mode=delta_schema_mode,
                partition_by=dt.metadata().partition_columns or None,
                storage_options=self.storage_options,
                commit_properties=props,
            )
        if dt.version() == base + 1:  # the write moved ``dt`` to its commit, right after ``base``
            self._memo.remember(table, dt, positions)
        metrics = dt.history(1)[0].get("operationMetrics", {})
        deleted = int(metrics.get("num_deleted_rows") or 0)
        return CommitResult(
            table,
            dt.version(),
            rows_written=rows.num_rows,
            rows_inserted=rows.num_rows,
            rows_deleted=deleted,
            metrics=metrics,
        )

    def _merge(
        self,
        dt: DeltaTable,
        table: str,
        prepared: Prepared,
        spec: MergeSpec,
        props: CommitProperties,
    ) -> CommitResult:
        from duckpipe.sinks.delta_merge import library_merge, rewrite_merge
        from duckpipe.sinks.merge import check_keys

        source = prepared.data
        target_columns = [*arrow_schema(dt).names, *(f.name for f in prepared.new_fields)]
        check_keys(spec, table, target_columns, source.column_names)
        strategy = spec.strategy if spec.strategy != "auto" else self.merge_strategy
        partitioned = bool(dt.metadata().partition_columns)
        if strategy == "rewrite" or (strategy == "auto" and partitioned):
            return rewrite_merge(dt, table, prepared, spec, props, self.storage_options)
        return library_merge(dt, table, prepared, spec, props)

    # -- reads -----------------------------------------------------------------
    def read_position(self, table: str, writer_id: str) -> Position | None:
        if not self.exists(table):
            return None
        dt = self._latest(table)
        self._fresh.add(table)
        return stored_position(dt, table, writer_id, self._memo.positions(table, dt))

    def _at(self, table: str, version: int | None, timestamp: str | datetime | None) -> DeltaTable:
        from duckpipe.sinks.timetravel import from_millis, no_version_at, parse_as_of, to_millis

        dt = self._open(table)
        as_of: int | datetime | None = version
        if as_of is None and timestamp is not None:
            as_of = parse_as_of(timestamp)
        if as_of is None:
            return dt
        if isinstance(as_of, datetime):
            # commitInfo timestamps (ms), not object-store modification times (s on some stores)
            commits = [(int(c.get("timestamp", 0)), int(c["version"])) for c in dt.history()]
            before = [v for ts, v in commits if ts <= to_millis(as_of)]
            if not before:
                raise no_version_at(table, as_of, from_millis(min(ts for ts, _ in commits)))
            as_of = max(before)
        try:
            dt.load_as_version(as_of)
        except Exception as exc:
            raise SinkError(
                f"table '{table}' has no version {as_of}",
                where=table,
                hint=f"the latest version is {self._open(table).version()}; older ones may be vacuumed ({exc})",
            ) from None
        return dt

    def dataset(
        self, table: str, *, version: int | None = None, timestamp: str | datetime | None = None
    ) -> ds.Dataset:
        from duckpipe.sinks.reads import traced

        return traced(readable_dataset(self._at(table, version, timestamp)))

    def schema(self, table: str) -> pa.Schema:
        return arrow_schema(self._open(table))

    def version(self, table: str) -> int | None:
        return self._open(table).version() if self.exists(table) else None

    def history(self, table: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        from duckpipe.sinks.timetravel import from_millis

        out = []
        for commit in self._open(table).history(limit):
            out.append(
                {
                    "version": commit.get("version"),
                    "timestamp": from_millis(int(commit.get("timestamp", 0))),
                    "operation": commit.get("operation"),
                    "parameters": commit.get("operationParameters", {}),
                    "positions": {
                        w: p.value for w, p in decode_map(commit.get(POSITIONS_KEY)).items()
                    },
                    "metrics": commit.get("operationMetrics", {}),
                }
            )
        return out

    def describe(self, table: str) -> TableInfo:
        dt = self._open(table)
        actions = dt.get_add_actions(flatten=True)
        import pyarrow as pa

        actions = pa.table(actions)
        return TableInfo(
            name=table,
            format=self.format,
            location=self.uri(table),
            version=dt.version(),
            schema=arrow_schema(dt),
            partition_by=list(dt.metadata().partition_columns),
            sort_by=table_sort_by(dt),
            num_files=actions.num_rows,
            num_rows=int(pa.compute.sum(actions["num_records"]).as_py() or 0)
            if actions.num_rows
            else 0,
            size_bytes=int(pa.compute.sum(actions["size_bytes"]).as_py() or 0)
            if actions.num_rows
            else 0,
            properties=dict(dt.metadata().configuration),
        )

    # -- maintenance -----------------------------------------------------------
    def compact(
        self, table: str, *, target_size: int = DEFAULT_TARGET_FILE_SIZE
    ) -> MaintenanceResult:
        from duckpipe.sinks.delta_maintenance import compact

        dt = self._open(table)
        with commit_errors(table, None):
            return compact(dt, table, target_size, commit_properties(dt, None))

    def zorder(
        self, table: str, columns: list[str], *, target_size: int = DEFAULT_TARGET_FILE_SIZE
    ) -> MaintenanceResult:
        """Rewrite files clustered along a Z-order curve of ``columns`` (better data skipping)."""
        from duckpipe.sinks.delta_maintenance import zorder

        dt = self._open(table)
        with commit_errors(table, None):
            return zorder(dt, table, columns, target_size, commit_properties(dt, None))

    def vacuum(
        self,
        table: str,
        *,
        retention_hours: float = DEFAULT_RETENTION_HOURS,
        dry_run: bool = False,
        enforce_retention: bool = True,
    ) -> MaintenanceResult:
        from duckpipe.sinks.delta_maintenance import vacuum
        from duckpipe.sinks.maintenance import check_retention
        from duckpipe.sinks.storage import filesystem

        check_retention(retention_hours, enforce_retention, table=table)
        dt = self._open(table)
        fs, base = filesystem(self.uri(table), self.storage)
        props = commit_properties(dt, None)
        return vacuum(
            dt, table, fs, base, retention_hours=retention_hours, dry_run=dry_run, props=props
        )


def _partition_columns(partition_by: list[str] | None, columns: list[str], table: str) -> list[str]:
    from duckpipe.sinks.partitioning import check_columns, parse_partitions

    terms = parse_partitions(partition_by)
    for term in terms:
        if term.transform != "identity":
            raise SinkError(
                f"Delta tables partition by plain columns, not by the transform '{term}'",
                where=f"{table}.{term.column}",
                hint=f"add a column for it in SQL (e.g. CAST({term.column} AS DATE) AS "
                f"{term.column}_{term.transform}) and partition by that, or use Iceberg",
            )
    check_columns(terms, columns, table)
    return [t.column for t in terms]
