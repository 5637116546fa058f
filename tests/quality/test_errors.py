"""Broken checks give one clear error naming the checks file and the line of the check."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from duckpipe.core.errors import QualityError
from duckpipe.quality import DataQualityFramework


def validate(tmp_path: Path, sodacl: str, orders: pa.Table, customers: pa.Table) -> None:
    checks = tmp_path / "checks"
    checks.mkdir(exist_ok=True)
    (checks / "x.yml").write_text(sodacl)
    DataQualityFramework(checks).validate_dataframe(
        orders, suite_name="x", data_asset_name="orders", references={"customers": customers}
    )


@pytest.mark.parametrize(
    ("sodacl", "line", "message", "hint"),
    [
        (
            "checks for orders:\n  - row_count > 0\n  - missing_count(id = 0\n   bad: [\n",
            4,
            "SodaCL syntax error",
            "YAML",
        ),
        (
            "checks for orders:\n  - row_count > 0\n  - row_count >> 0\n",
            3,
            'SodaCL syntax error: Invalid check "row_count >> 0"',
            "metric(column)",
        ),
        (
            "checks for orders:\n  - row_count > 0\n  - mising_count(email) = 0\n",
            3,
            "unknown check type 'mising_count'",
            "did you mean 'missing_count'",
        ),
        (
            "checks for orders:\n  - row_count > 0\n\n  - missing_count(emial) = 0\n",
            4,
            "unknown column 'emial' in dataset 'orders'",
            "did you mean 'email'?",
        ),
        (
            "checks for orders:\n  - duplicate_count(customer_id, regoin) = 0\n",
            2,
            "unknown column 'regoin'",
            "did you mean 'region'?",
        ),
        (
            "checks for orders:\n  - row_count > 0\n  - values in (customer_id) must exist in custmers (id)\n",
            3,
            "unknown dataset 'custmers'",
            "did you mean 'customers'?",
        ),
        (
            "checks for orders:\n  - values in (customer_id) must exist in customers (ident)\n",
            2,
            "unknown column 'ident' in dataset 'customers'",
            "its columns are: id, name",
        ),
        (
            "checks for orders:\n  - invalid_count(status) = 0:\n      valid valuse: [placed]\n",
            3,
            "unknown check option 'valid valuse'",
            "did you mean 'valid values'",
        ),
        (
            "checks for orders:\n  - row_count > 0\n  - failed rows:\n      name: neg\n      fail condition: amont < 0\n",
            3,
            "a check's query failed in DuckDB",
            "column",
        ),
        (
            "checks for orders:\n  - row_count > 0\n  - change for row_count < 10\n",
            3,
            "this check needs Soda Cloud",
            "duckpipe check --trend",
        ),
        (
            "checks for orders:\n  - freshness(created) < 1d\n",
            2,
            "unknown column 'created'",
            "did you mean 'created_at'?",
        ),
    ],
)
def test_error_names_file_and_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    orders: pa.Table,
    customers: pa.Table,
    sodacl: str,
    line: int,
    message: str,
    hint: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(QualityError) as err:
        validate(Path(), sodacl, orders, customers)
    assert err.value.where == f"checks/x.yml:{line}"
    assert message in err.value.message
    assert hint in (err.value.hint or "")


def test_unknown_suite_and_data_asset(tmp_path: Path, orders: pa.Table) -> None:
    (tmp_path / "orders_suite.yml").write_text("checks for orders:\n  - row_count > 0\n")
    dq = DataQualityFramework(tmp_path)
    with pytest.raises(QualityError, match="no suite named 'order_suite'") as err:
        dq.validate_dataframe(orders, suite_name="order_suite", data_asset_name="orders")
    assert err.value.hint == "did you mean 'orders_suite'?"
    with pytest.raises(QualityError, match="has no checks for 'ordrs'") as err:
        dq.validate_dataframe(orders, suite_name="orders_suite", data_asset_name="ordrs")
    assert err.value.hint == "did you mean 'orders'?"


def test_unsupported_input_is_refused(orders: pa.Table) -> None:
    dq = DataQualityFramework()
    dq.register_suite("s", "checks for orders:\n  - row_count > 0\n")
    with pytest.raises(QualityError, match="cannot validate a dict"):
        dq.validate_dataframe({"id": [1]}, suite_name="s", data_asset_name="orders")
