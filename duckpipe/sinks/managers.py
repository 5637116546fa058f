"""The table-manager API users' own scripts call: ``DeltaLakeManager`` and ``IcebergTableManager``.

    delta_mgr = DeltaLakeManager(storage_path="s3://lake")
    delta_mgr.create_or_update_table(df=df, table_name="orders",
                                     partition_columns=["order_date"], mode="append")
    delta_mgr.create_or_update_table(df=changes, table_name="orders",
                                     mode="merge", merge_keys=["order_id"])
    delta_mgr.read("orders", version=3)

Both are thin over the sinks, so they behave exactly like ``duckpipe run``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import SinkError
from duckpipe.sinks.base import (
    DEFAULT_RETENTION_HOURS,
    DEFAULT_TARGET_FILE_SIZE,
    CommitResult,
    MaintenanceResult,
    MergeSpec,
    WriteMode,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.sinks.base import Sink


class _TableManager:
    format = "delta"

    def __init__(
        self, storage_path: str, *, storage_options: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        from duckpipe.sinks import open_sink

        self.storage_path = storage_path
        self.sink: Sink = open_sink(
            storage_path, format=self.format, storage_options=storage_options, **kwargs
        )

    def create_or_update_table(
        self,
        df: Any,
        table_name: str,
        *,
        partition_columns: list[str] | None = None,
        mode: WriteMode = "append",
        merge_keys: list[str] | None = None,
        merge_predicate: str | None = None,
        predicate: str | None = None,
    ) -> CommitResult:
        """Create ``table_name`` from ``df`` or append / overwrite / merge into it.

        ``df`` is a pyarrow Table or RecordBatchReader, a list of record batches, or a pandas DataFrame.
        """
        merge = None
        if mode == "merge":
            if not merge_keys:
                raise SinkError(
                    "mode='merge' needs merge_keys",
                    where=table_name,
                    hint="create_or_update_table(..., mode='merge', merge_keys=['id'])",
                )
            merge = MergeSpec(keys=list(merge_keys), predicate=merge_predicate)
        return self.sink.write(
            table_name,
            _arrow(df),
            mode=mode,
            partition_by=partition_columns,
            merge=merge,
            predicate=predicate,
        )

    def read(
        self,
        table_name: str,
        *,
        version: int | None = None,
        timestamp: str | datetime | None = None,
    ) -> pa.Table:
        """The table's rows (as of a version or a time, if given)."""
        return self.sink.dataset(table_name, version=version, timestamp=timestamp).to_table()

    def history(self, table_name: str, limit: int | None = None) -> list[dict[str, Any]]:
        return self.sink.history(table_name, limit=limit)

    def optimize(
        self, table_name: str, target_size: int = DEFAULT_TARGET_FILE_SIZE
    ) -> MaintenanceResult:
        """Bin-pack small files into files near ``target_size`` bytes."""
        return self.sink.compact(table_name, target_size=target_size)

    def vacuum(
        self,
        table_name: str,
        retention_hours: float = DEFAULT_RETENTION_HOURS,
        *,
        dry_run: bool = False,
        enforce_retention: bool = True,
    ) -> MaintenanceResult:
        return self.sink.vacuum(
            table_name,
            retention_hours=retention_hours,
            dry_run=dry_run,
            enforce_retention=enforce_retention,
        )

    def tables(self) -> list[str]:
        return self.sink.tables()


class DeltaLakeManager(_TableManager):
    """Delta tables under ``storage_path`` (a folder or ``s3://bucket/prefix``)."""

    format = "delta"

    def z_order(
        self, table_name: str, columns: list[str], target_size: int = DEFAULT_TARGET_FILE_SIZE
    ) -> MaintenanceResult:
        """Cluster the table's files along a Z-order curve of ``columns``."""
        from duckpipe.sinks.delta import DeltaSink

        assert isinstance(self.sink, DeltaSink)
        return self.sink.zorder(table_name, columns, target_size=target_size)


class IcebergTableManager(_TableManager):
    """Iceberg tables under ``storage_path``, in a SQL catalog (SQLite in ``state_dir`` by default).

    ``partition_columns`` also takes transforms: ``["day(ts)", "bucket(16, id)"]``.
    """

    format = "iceberg"

    def __init__(
        self,
        storage_path: str,
        *,
        storage_options: dict[str, str] | None = None,
        catalog_uri: str | None = None,
        state_dir: str | Path | None = None,
        namespace: str = "duckpipe",
    ) -> None:
        from duckpipe.config import CatalogConfig

        super().__init__(
            storage_path,
            storage_options=storage_options,
            catalog=CatalogConfig(uri=catalog_uri, namespace=namespace),
            state_dir=Path(state_dir) if state_dir else None,
        )

    def z_order(
        self, table_name: str, columns: list[str], target_size: int = DEFAULT_TARGET_FILE_SIZE
    ) -> MaintenanceResult:
        raise SinkError(
            "Z-order is a Delta feature",
            where=table_name,
            hint="Iceberg tables cluster by their sort order: create them with sort_by=[...]",
        )


def _arrow(df: Any) -> pa.Table | pa.RecordBatchReader:
    import pyarrow as pa

    if isinstance(df, pa.Table | pa.RecordBatchReader):
        return df
    if isinstance(df, list) and all(isinstance(b, pa.RecordBatch) for b in df):
        if not df:
            raise SinkError("no record batches to write", hint="pass at least one batch")
        return pa.Table.from_batches(df)
    if type(df).__name__ == "DataFrame" and hasattr(df, "to_parquet"):  # pandas
        return pa.Table.from_pandas(df, preserve_index=False)
    if hasattr(df, "__arrow_c_stream__"):
        return pa.table(df)
    raise SinkError(
        f"cannot write a {type(df).__name__}",
        hint="pass a pyarrow Table, RecordBatchReader, list of RecordBatches or pandas DataFrame",
    )
