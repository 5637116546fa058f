"""Delta Lake sink over delta-rs (``deltalake``)."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from duckpipe.errors import SinkError, did_you_mean
from duckpipe.sinks.base import Capabilities, CommitResult, MergeSpec, Position, WriteMode

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

POSITION_KEY = "duckpipe.position"


class DeltaSink:
    """Tables are folders ``<root>/<name>`` holding a ``_delta_log``."""

    capabilities = Capabilities(
        supports_merge=True,
        supports_exactly_once=True,
        supports_time_travel=True,
        supports_partitioning=True,
        supports_zorder=True,
    )

    def __init__(self, root: str, *, storage_options: dict[str, str] | None = None) -> None:
        self.root = root.rstrip("/")
        self.storage_options = storage_options or {}

    def uri(self, table: str) -> str:
        return f"{self.root}/{table}"

    def exists(self, table: str) -> bool:
        from deltalake import DeltaTable

        return DeltaTable.is_deltatable(self.uri(table), storage_options=self.storage_options)

    def tables(self) -> list[str]:
        if "://" in self.root:
            raise SinkError(
                "listing tables on object storage is not available yet", where=self.root
            )
        if not os.path.isdir(self.root):
            return []
        found = []
        for dirpath, dirnames, _ in os.walk(self.root):
            if "_delta_log" in dirnames:
                found.append(os.path.relpath(dirpath, self.root))
                dirnames.clear()
        return sorted(found)

    def _table(self, table: str, version: int | None = None) -> DeltaTable:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:
            dt = DeltaTable(self.uri(table), storage_options=self.storage_options)
        except TableNotFoundError:
            raise SinkError(
                f"no Delta table '{table}' in {self.root}",
                hint=did_you_mean(table, self.tables()) if "://" not in self.root else None,
            ) from None
        if version is not None:
            dt.load_as_version(version)
        return dt

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
        import pyarrow as pa
        from deltalake import CommitProperties, write_deltalake

        if mode == "merge":
            raise SinkError("merge is not available in this sink yet", where=table)
        props = None
        if position is not None:
            props = CommitProperties(
                custom_metadata={POSITION_KEY: json.dumps({position.writer_id: position.value})}
            )
        if isinstance(data, pa.RecordBatchReader):
            data = data.read_all()
        write_deltalake(  # type: ignore[call-overload, misc]
            self.uri(table),
            data,
            mode=mode,
            partition_by=partition_by or None,
            predicate=predicate,
            storage_options=self.storage_options,
            commit_properties=props,
            schema_mode="merge" if mode == "append" else "overwrite",
        )
        return CommitResult(table=table, version=self.version(table), rows_written=data.num_rows)

    def read_position(self, table: str, writer_id: str) -> Position | None:
        if not self.exists(table):
            return None
        for commit in self._table(table).history():
            raw = commit.get(POSITION_KEY)
            if raw:
                positions = json.loads(raw)
                if writer_id in positions:
                    return Position(writer_id, positions[writer_id])
        return None

    def dataset(
        self, table: str, *, version: int | None = None, timestamp: str | None = None
    ) -> ds.Dataset:
        dt = self._table(table, version)
        if timestamp is not None:
            dt.load_as_version(timestamp)
        return dt.to_pyarrow_dataset()

    def version(self, table: str) -> int | None:
        return self._table(table).version() if self.exists(table) else None

    def history(self, table: str) -> list[dict[str, Any]]:
        return list(self._table(table).history())
