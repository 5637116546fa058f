"""The Python API users' scripts call: DeltaLakeManager and IcebergTableManager."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from duckpipe import DeltaLakeManager, IcebergTableManager
from duckpipe.core.errors import SinkError


def managers(tmp_path: Path) -> list[object]:
    return [
        DeltaLakeManager(storage_path=str(tmp_path / "delta")),
        IcebergTableManager(storage_path=str(tmp_path / "iceberg"), state_dir=tmp_path / "state"),
    ]


@pytest.mark.parametrize("which", [0, 1], ids=["delta", "iceberg"])
def test_manager_modes_maintenance_and_time_travel(tmp_path: Path, which: int) -> None:
    mgr = managers(tmp_path)[which]
    df = pd.DataFrame(
        {"order_id": [1, 2], "order_date": ["2024-05-01", "2024-05-02"], "amount": [10.0, 20.0]}
    )
    first = mgr.create_or_update_table(
        df=df, table_name="orders", partition_columns=["order_date"], mode="append"
    )  # type: ignore[attr-defined]
    batches = pa.Table.from_pandas(df.assign(order_id=[3, 4]), preserve_index=False).to_batches()
    mgr.create_or_update_table(df=batches, table_name="orders", mode="append")  # type: ignore[attr-defined]
    changes = pa.table(
        {"order_id": [1, 5], "order_date": ["2024-05-01", "2024-05-03"], "amount": [11.0, 50.0]}
    )
    merged = mgr.create_or_update_table(
        df=changes, table_name="orders", mode="merge", merge_keys=["order_id"]
    )  # type: ignore[attr-defined]
    assert (merged.rows_updated, merged.rows_inserted) == (1, 1)
    now = mgr.read("orders").sort_by("order_id")  # type: ignore[attr-defined]
    assert now.column("order_id").to_pylist() == [1, 2, 3, 4, 5]
    assert now.column("amount").to_pylist()[0] == 11.0
    assert mgr.read("orders", version=first.version).num_rows == 2  # type: ignore[attr-defined]
    assert len(mgr.history("orders")) >= 3  # type: ignore[attr-defined]
    assert mgr.optimize("orders").files_added >= 1  # type: ignore[attr-defined]
    assert mgr.vacuum("orders", 0, enforce_retention=False).files_removed >= 1  # type: ignore[attr-defined]
    mgr.create_or_update_table(df=changes, table_name="orders", mode="overwrite")  # type: ignore[attr-defined]
    assert mgr.read("orders").num_rows == 2  # type: ignore[attr-defined]
    assert mgr.tables() == ["orders"]  # type: ignore[attr-defined]
    with pytest.raises(SinkError, match="merge_keys"):
        mgr.create_or_update_table(df=changes, table_name="orders", mode="merge")  # type: ignore[attr-defined]


def test_delta_z_order_and_iceberg_transforms(tmp_path: Path) -> None:
    delta, iceberg = managers(tmp_path)
    data = pa.table({"id": list(range(10)), "ts": pa.array(range(10), pa.timestamp("s", tz="UTC"))})
    delta.create_or_update_table(df=data, table_name="t")  # type: ignore[attr-defined]
    delta.create_or_update_table(df=data, table_name="t")  # type: ignore[attr-defined]
    assert delta.z_order("t", ["id"]).files_removed == 2  # type: ignore[attr-defined]
    iceberg.create_or_update_table(
        df=data, table_name="t", partition_columns=["day(ts)", "bucket(4, id)"]
    )  # type: ignore[attr-defined]
    assert iceberg.sink.describe("t").partition_by == ["day(ts)", "bucket(4, id)"]  # type: ignore[attr-defined]
    with pytest.raises(SinkError, match="Z-order"):
        iceberg.z_order("t", ["id"])  # type: ignore[attr-defined]
