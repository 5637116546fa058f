"""The Python API: DataQualityFramework().validate_dataframe on Arrow and pandas input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import duckpipe
from duckpipe.quality import DataQualityFramework

ORDERS_SUITE = """\
checks for orders:
  - row_count = 8
  - missing_count(email) = 0
  - duplicate_count(id) = 0
"""


@pytest.fixture
def dq(tmp_path: Path) -> DataQualityFramework:
    (tmp_path / "orders_suite.yml").write_text(ORDERS_SUITE)
    return duckpipe.DataQualityFramework(checks_dir=tmp_path)


@pytest.mark.parametrize("shape", ["table", "reader", "batches", "pandas"])
def test_validate_dataframe_on_arrow_and_pandas(
    dq: DataQualityFramework, orders: pa.Table, shape: str
) -> None:
    df = {
        "table": lambda: orders,
        "reader": lambda: pa.RecordBatchReader.from_batches(
            orders.schema, orders.to_batches(max_chunksize=3)
        ),
        "batches": lambda: orders.to_batches(max_chunksize=3),
        "pandas": lambda: orders.to_pandas(),
    }[shape]()
    result = dq.validate_dataframe(df, suite_name="orders_suite", data_asset_name="orders")
    assert result.success is False
    assert [(c.name, c.outcome, c.value) for c in result.checks] == [
        ("row_count = 8", "pass", 8),
        ("missing_count(email) = 0", "fail", 1),
        ("duplicate_count(id) = 0", "fail", 1),
    ]
    assert [r["id"] for r in result.failed_rows("missing_count(email) = 0")] == [3]
    assert sorted(r["id"] for r in result.failed_rows("duplicate_count(id) = 0")) == [7, 7]


def test_clean_pandas_frame_passes(dq: DataQualityFramework) -> None:
    df = pd.DataFrame({"id": range(8), "email": [f"u{i}@x.com" for i in range(8)]})
    result = dq.validate_dataframe(df, suite_name="orders_suite", data_asset_name="orders")
    assert result.success is True
    assert all(c.outcome == "pass" and c.samples == [] for c in result.checks)
    assert result.to_dict()["checks"][1] | {"location": None} == {
        "dataset": "orders",
        "name": "missing_count(email) = 0",
        "outcome": "pass",
        "value": 0,
        "threshold": "fail when != 0",
        "severity": "fail",
        "kind": "missing",
        "column": "email",
        "failed_rows": 0,
        "location": None,
        "detail": None,
        "samples": [],
    }


def test_suite_by_path_and_registered_file(tmp_path: Path, orders: pa.Table) -> None:
    path = tmp_path / "elsewhere.yml"
    path.write_text("checks for orders:\n  - row_count > 100\n")
    dq = DataQualityFramework(checks_dir=tmp_path / "none")
    by_path = dq.validate_dataframe(orders, suite_name=str(path), data_asset_name="orders")
    assert [(c.outcome, c.location) for c in by_path.checks] == [("fail", f"{path}:2")]
    dq.register_suite("big", path)
    assert (
        dq.validate_dataframe(orders, suite_name="big", data_asset_name="orders").success is False
    )


def test_samples_limit_caps_the_failing_rows_kept(orders: pa.Table) -> None:
    dq = DataQualityFramework(samples_limit=1)
    dq.register_suite(
        "s",
        "checks for orders:\n  - min(amount) > 100\n  - invalid_count(amount) = 0:\n      valid min: 25\n",
    )
    result = dq.validate_dataframe(orders, suite_name="s", data_asset_name="orders")
    invalid = result.check("invalid_count(amount) = 0")
    assert (invalid.value, invalid.failed_rows, len(invalid.samples)) == (3, 3, 1)
