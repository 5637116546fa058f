"""An in-memory lake with the full sink contract: versions, positions, merge, time travel.

For fast unit tests of everything that publishes. ``open_sink("memory://name")``
returns the same lake for the same name within a process. Each write adds one
"file" (an Arrow table) to a new version; compaction merges files, vacuum drops
old versions.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from duckpipe.core.errors import SinkError, did_you_mean
from duckpipe.sinks.base import (
    DEFAULT_RETENTION_HOURS,
    DEFAULT_TARGET_FILE_SIZE,
    BaseSink,
    Capabilities,
    CommitResult,
    MaintenanceResult,
    Position,
    TableInfo,
    WriteRequest,
)
from duckpipe.sinks.positions import StoredPosition

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds


@dataclass(frozen=True)
class MemoryVersion:
    version: int
    timestamp_ms: int
    operation: str
    schema: pa.Schema
    files: tuple[pa.Table, ...]
    positions: dict[str, StoredPosition] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class MemoryTable:
    versions: list[MemoryVersion]
    partition_by: list[str]
    sort_by: list[str]

    @property
    def current(self) -> MemoryVersion:
        return self.versions[-1]


class MemorySink(BaseSink):
    """Tables live in a dict; every commit appends an immutable ``MemoryVersion``."""

    format = "memory"
    capabilities = Capabilities(
        supports_merge=True,
        supports_exactly_once=True,
        supports_time_travel=True,
        supports_partitioning=True,
        supports_partition_transforms=True,
        supports_sort_order=True,
        supports_compaction=True,
        supports_vacuum=True,
    )
    _named: ClassVar[dict[str, MemorySink]] = {}

    def __init__(self, root: str = "memory://") -> None:
        self.root = root
        self._tables: dict[str, MemoryTable] = {}
        self._lock = threading.RLock()

    @classmethod
    def named(cls, uri: str) -> MemorySink:
        """The process-wide lake called ``uri`` (created on first use)."""
        with threading.Lock():
            return cls._named.setdefault(uri, cls(uri))

    # -- catalog ---------------------------------------------------------------
    def exists(self, table: str) -> bool:
        return table in self._tables

    def tables(self) -> list[str]:
        return sorted(self._tables)

    def _table(self, table: str) -> MemoryTable:
        if table not in self._tables:
            raise SinkError(
                f"no table '{table}' in {self.root}",
                where=table,
                hint=did_you_mean(table, self._tables) or "write to it first",
            )
        return self._tables[table]

    def create(
        self,
        table: str,
        schema: pa.Schema,
        *,
        partition_by: list[str] | None = None,
        sort_by: list[str] | None = None,
    ) -> None:
        from duckpipe.sinks.partitioning import check_columns, parse_partitions, parse_sorts
        from duckpipe.sinks.schema import lake_schema

        with self._lock:
            if table in self._tables:
                raise SinkError(f"table '{table}' already exists in {self.root}", where=table)
            check_columns(parse_partitions(partition_by), schema.names, table)
            check_columns(parse_sorts(sort_by), schema.names, table)
            first = MemoryVersion(0, _now_ms(), "CREATE", lake_schema(schema), ())
            self._tables[table] = MemoryTable(
                [first], list(partition_by or []), list(sort_by or [])
            )

    def drop(self, table: str) -> None:
        with self._lock:
            self._table(table)
            del self._tables[table]

    # -- writes ----------------------------------------------------------------
    def _commit(self, request: WriteRequest) -> CommitResult:
        import pyarrow as pa

        from duckpipe.sinks.merge import check_keys, merge_rows
        from duckpipe.sinks.partitioning import parse_sorts, sort_table
        from duckpipe.sinks.prepare import (
            check_rows_match,
            prepare,
            rows_not_matching,
            with_new_columns,
        )

        table, mode, predicate = request.table, request.mode, request.predicate
        incoming = request.data
        with self._lock:
            if table not in self._tables:
                self.create(
                    table,
                    _nullable(incoming.schema),
                    partition_by=request.partition_by,
                    sort_by=request.sort_by,
                )
            state = self._tables[table]
            head = state.current
            current = head.schema
            prepared = prepare(
                incoming,
                current,
                table=table,
                schema_mode=request.schema_mode,
                partial=mode == "merge",
            )
            schema = (
                prepared.data.schema
                if prepared.replace_schema
                else pa.schema([*head.schema, *prepared.new_fields])
            )
            old = [with_new_columns(f, prepared.new_fields) for f in head.files]
            rows = prepared.data
            sorts = parse_sorts(state.sort_by)
            result = CommitResult(table, None, rows_written=rows.num_rows)
            if mode == "append":
                files = [*old, sort_table(rows, sorts)]
                result.rows_inserted = rows.num_rows
            elif mode == "overwrite" and predicate is None:
                files = [sort_table(rows, sorts)]
                result.rows_deleted = sum(f.num_rows for f in old)
                result.rows_inserted = rows.num_rows
            elif mode == "overwrite":
                check_rows_match(rows, predicate or "", table=table)
                kept = [rows_not_matching(f, predicate or "") for f in old]
                result.rows_deleted = sum(f.num_rows for f in old) - sum(k.num_rows for k in kept)
                result.rows_inserted = rows.num_rows
                files = [k for k in kept if k.num_rows] + [sort_table(rows, sorts)]
            else:
                merge = request.merge
                assert merge is not None
                check_keys(merge, table, schema.names, rows.column_names)
                target = pa.concat_tables(old) if old else schema.empty_table()
                outcome = merge_rows(target, rows, merge, table=table)
                merged = (
                    outcome.rows.cast(schema) if outcome.rows.num_rows else schema.empty_table()
                )
                files = [sort_table(merged, sorts)]
                result.rows_inserted, result.rows_updated = outcome.inserted, outcome.updated
                result.rows_deleted = outcome.deleted
                result.rows_written = outcome.inserted + outcome.updated
            positions = dict(head.positions)
            position = request.position
            if position is not None:
                seq = (
                    positions[position.writer_id].seq + 1 if position.writer_id in positions else 1
                )
                positions[position.writer_id] = StoredPosition(
                    position.writer_id, seq, dict(position.value)
                )
            metrics = {
                "rows_inserted": result.rows_inserted,
                "rows_updated": result.rows_updated,
                "rows_deleted": result.rows_deleted,
            }
            new = MemoryVersion(
                head.version + 1,
                _now_ms(),
                mode.upper(),
                schema,
                tuple(f.cast(schema) for f in files if f.num_rows),
                positions,
                metrics,
            )
            state.versions.append(new)
            result.version = new.version
            result.metrics = metrics
            return result

    # -- reads -----------------------------------------------------------------
    def read_position(self, table: str, writer_id: str) -> Position | None:
        if table not in self._tables:
            return None
        stored = self._tables[table].current.positions.get(writer_id)
        return stored.position() if stored else None

    def _at(
        self, table: str, version: int | None, timestamp: str | datetime | None
    ) -> MemoryVersion:
        from duckpipe.sinks.timetravel import from_millis, no_version_at, parse_as_of, to_millis

        versions = self._table(table).versions
        if version is not None:
            match = [v for v in versions if v.version == version]
            if not match:
                raise SinkError(
                    f"table '{table}' has no version {version}",
                    where=table,
                    hint=f"versions kept: {versions[0].version}..{versions[-1].version}",
                )
            return match[0]
        if timestamp is not None:
            moment = parse_as_of(timestamp)
            if isinstance(moment, int):
                return self._at(table, moment, None)
            before = [v for v in versions if v.timestamp_ms <= to_millis(moment)]
            if not before:
                raise no_version_at(table, moment, from_millis(versions[0].timestamp_ms))
            return before[-1]
        return versions[-1]

    def dataset(
        self, table: str, *, version: int | None = None, timestamp: str | datetime | None = None
    ) -> ds.Dataset:
        import pyarrow.dataset as ds

        snapshot = self._at(table, version, timestamp)
        return ds.dataset(
            list(snapshot.files) or snapshot.schema.empty_table(), schema=snapshot.schema
        )

    def schema(self, table: str) -> pa.Schema:
        return self._table(table).current.schema

    def version(self, table: str) -> int | None:
        return self._tables[table].current.version if table in self._tables else None

    def history(self, table: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        from duckpipe.sinks.timetravel import from_millis

        out = [
            {
                "version": v.version,
                "timestamp": from_millis(v.timestamp_ms),
                "operation": v.operation,
                "positions": {w: p.value for w, p in v.positions.items()},
                "metrics": v.metrics,
            }
            for v in reversed(self._table(table).versions)
        ]
        return out[:limit] if limit else out

    def describe(self, table: str) -> TableInfo:
        state = self._table(table)
        head = state.current
        return TableInfo(
            name=table,
            format=self.format,
            location=f"{self.root}/{table}",
            version=head.version,
            schema=head.schema,
            partition_by=state.partition_by,
            sort_by=state.sort_by,
            num_files=len(head.files),
            num_rows=sum(f.num_rows for f in head.files),
            size_bytes=sum(f.nbytes for f in head.files),
        )

    # -- maintenance -----------------------------------------------------------
    def compact(
        self, table: str, *, target_size: int = DEFAULT_TARGET_FILE_SIZE
    ) -> MaintenanceResult:
        import pyarrow as pa

        with self._lock:
            state = self._table(table)
            head = state.current
            small = [f for f in head.files if f.nbytes < target_size]
            result = MaintenanceResult(table, "compact", version=head.version)
            if len(small) < 2:
                return result
            big = [f for f in head.files if f.nbytes >= target_size]
            merged = pa.concat_tables(small).combine_chunks()
            per_row = max(1, merged.nbytes // max(1, merged.num_rows))
            step = max(1, target_size // per_row)
            packed = [
                part.slice(i, step)
                for part in _split_by(merged, [p for p in state.partition_by if "(" not in p])
                for i in range(0, part.num_rows, step)
            ]
            new = replace(
                head,
                version=head.version + 1,
                timestamp_ms=_now_ms(),
                operation="OPTIMIZE",
                files=tuple(big + packed),
                metrics={},
            )
            state.versions.append(new)
            return MaintenanceResult(
                table,
                "compact",
                version=new.version,
                files_removed=len(small),
                files_added=len(packed),
            )

    def vacuum(
        self,
        table: str,
        *,
        retention_hours: float = DEFAULT_RETENTION_HOURS,
        dry_run: bool = False,
        enforce_retention: bool = True,
    ) -> MaintenanceResult:
        from duckpipe.sinks.maintenance import check_retention

        check_retention(retention_hours, enforce_retention, table=table)
        with self._lock:
            state = self._table(table)
            cutoff = _now_ms() - int(retention_hours * 3_600_000)
            expired = {v.version for v in state.versions[:-1] if v.timestamp_ms < cutoff}
            if not dry_run:
                state.versions = [v for v in state.versions if v.version not in expired]
            return MaintenanceResult(
                table,
                "vacuum",
                version=state.current.version,
                snapshots_expired=len(expired),
                dry_run=dry_run,
            )


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _split_by(rows: pa.Table, columns: list[str]) -> list[pa.Table]:
    """One table per distinct value of ``columns`` (identity partitions), in first-seen order."""
    import pyarrow.compute as pc

    if not columns:
        return [rows]
    keys = rows.select(columns).group_by(columns).aggregate([]).to_pylist()
    out = []
    for key in keys:
        mask = None
        for name, value in key.items():
            cond = pc.is_null(rows[name]) if value is None else pc.equal(rows[name], value)
            mask = cond if mask is None else pc.and_(mask, cond)
        out.append(rows.filter(mask))
    return out


def _nullable(schema: pa.Schema) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([f.with_nullable(True) for f in schema])
