"""Every SodaCL check type the gate relies on, run by soda-core on real data in DuckDB."""

from __future__ import annotations

import pyarrow as pa
import pytest

from duckpipe.quality import DataQualityFramework, ValidationResult

SUITE = """\
checks for orders:
  - row_count = 8
  - row_count between 10 and 20
  - missing_count(email) = 0
  - missing_percent(email) < 20
  - duplicate_count(id) = 0
  - duplicate_count(customer_id, region) = 0
  - invalid_count(status) = 0:
      valid values: [placed, shipped, returned]
  - invalid_count(email) = 0:
      valid format: email
  - invalid_count(amount) = 0:
      valid min: 0
  - invalid_percent(amount) < 20:
      valid min: 0
      valid max: 100
  - min(amount) >= 0
  - max(amount) <= 100
  - avg(amount) between 20 and 40
  - avg(amount):
      warn: when > 30
      fail: when > 50
  - missing_count(region):
      warn: when > 0
  - freshness(created_at) < 1d
  - freshness(created_at) < 30m
  - schema:
      fail:
        when required column missing: [id, email]
        when wrong column type:
          amount: double
  - schema:
      name: schema drift
      fail:
        when required column missing: [id, discount]
        when wrong column type:
          id: varchar
  - failed rows:
      name: negative amounts not returned
      fail query: select * from orders where amount < 0 and status <> 'returned'
  - failed rows:
      name: big orders
      fail condition: amount > 55
  - values in (customer_id) must exist in customers (id)
"""


@pytest.fixture(scope="module")
def result(orders: pa.Table, customers: pa.Table) -> ValidationResult:
    dq = DataQualityFramework()
    dq.register_suite("orders_suite", SUITE)
    return dq.validate_dataframe(
        orders,
        suite_name="orders_suite",
        data_asset_name="orders",
        references={"customers": customers},
    )


@pytest.mark.parametrize(
    ("check", "outcome", "value", "failed_rows"),
    [
        ("row_count = 8", "pass", 8, None),
        ("row_count between 10 and 20", "fail", 8, None),
        ("missing_count(email) = 0", "fail", 1, 1),
        ("missing_percent(email) < 20", "pass", 12.5, 0),
        ("duplicate_count(id) = 0", "fail", 1, 2),
        ("duplicate_count(customer_id, region) = 0", "fail", 2, 5),
        ("invalid_count(status) = 0", "fail", 1, 1),
        ("invalid_count(email) = 0", "fail", 1, 1),
        ("invalid_count(amount) = 0", "fail", 1, 1),
        ("invalid_percent(amount) < 20", "pass", 12.5, 0),
        ("min(amount) >= 0", "fail", -5.0, None),
        ("max(amount) <= 100", "pass", 60.0, None),
        ("avg(amount) between 20 and 40", "pass", 33.125, None),
        ("avg(amount) warn when > 30 fail when > 50", "warn", 33.125, None),
        ("missing_count(region) warn when > 0", "pass", 0, 0),
        ("Schema Check", "pass", 0, None),
        ("schema drift", "fail", 2, None),
        ("negative amounts not returned", "fail", 1, 1),
        ("big orders", "fail", 2, 2),
        ("values in (customer_id) must exist in customers (id)", "fail", 1, 1),
    ],
)
def test_check_outcome_and_measured_value(
    result: ValidationResult, check: str, outcome: str, value: float, failed_rows: int | None
) -> None:
    found = result.check(check)
    assert (found.outcome, found.value) == (outcome, pytest.approx(value))
    assert found.failed_rows == failed_rows
    assert found.dataset == "orders"
    assert found.location.startswith("<suite orders_suite>:")


def test_freshness_is_measured_in_seconds_against_its_threshold(result: ValidationResult) -> None:
    fresh, stale = (
        result.check("freshness(created_at) < 1d"),
        result.check("freshness(created_at) < 30m"),
    )
    assert fresh.outcome == "pass" and stale.outcome == "fail"
    assert 3600 <= stale.value < 3600 + 600  # the newest order is an hour old
    assert stale.threshold == "fail when older than 0:30:00"
    assert "newest" in (stale.detail or "")


def test_thresholds_and_severity_say_what_fails(result: ValidationResult) -> None:
    assert result.check("row_count = 8").threshold == "fail when != 8"
    assert result.check("min(amount) >= 0").threshold == "fail when < 0"
    assert result.check("row_count between 10 and 20").threshold == "fail when < 10 or > 20"
    assert result.check("avg(amount) warn when > 30 fail when > 50").threshold == (
        "fail when > 50; warn when > 30"
    )
    warn_only = result.check("missing_count(region) warn when > 0")
    assert (warn_only.severity, warn_only.threshold) == ("warn", "warn when > 0")
    assert result.check("big orders").threshold == "fail when > 0 rows"


def test_schema_check_names_missing_columns_and_wrong_types(result: ValidationResult) -> None:
    detail = result.check("schema drift").detail or ""
    assert "missing columns: discount" in detail
    assert "id is bigint, expected varchar" in detail


def test_failing_rows_are_sampled_per_check(result: ValidationResult) -> None:
    assert [r["email"] for r in result.failed_rows("missing_count(email) = 0")] == [None]
    assert sorted(r["id"] for r in result.failed_rows("duplicate_count(id) = 0")) == [7, 7]
    assert [r["status"] for r in result.failed_rows("invalid_count(status) = 0")] == ["lost"]
    assert [r["email"] for r in result.failed_rows("invalid_count(email) = 0")] == ["not-an-email"]
    assert [r["amount"] for r in result.failed_rows("invalid_count(amount) = 0")] == [-5.0]
    assert [r["id"] for r in result.failed_rows("negative amounts not returned")] == [4]
    assert sorted(r["amount"] for r in result.failed_rows("big orders")) == [60.0, 60.0]
    assert [
        r["customer_id"]
        for r in result.failed_rows("values in (customer_id) must exist in customers (id)")
    ] == [99]
    pairs = {
        (r["customer_id"], r["region"])
        for r in result.failed_rows("duplicate_count(customer_id, region) = 0")
    }
    assert pairs == {(10, "eu"), (11, "us")}


def test_a_failing_fail_check_fails_the_validation(result: ValidationResult) -> None:
    assert result.success is False
    assert result.to_dict()["checks"][0]["name"] == "row_count = 8"


def test_warn_checks_report_but_pass(orders: pa.Table) -> None:
    dq = DataQualityFramework()
    dq.register_suite(
        "warn_only",
        "checks for orders:\n  - row_count > 0\n  - min(amount):\n      warn: when < 0\n      fail: when < -100\n",
    )
    result = dq.validate_dataframe(orders, suite_name="warn_only", data_asset_name="orders")
    assert result.success is True
    assert [(c.name, c.outcome) for c in result.checks] == [
        ("row_count > 0", "pass"),
        ("min(amount) warn when < 0 fail when < -100", "warn"),
    ]


def test_filtered_checks_run_on_the_filtered_rows(orders: pa.Table) -> None:
    dq = DataQualityFramework()
    dq.register_suite(
        "regions",
        "filter orders [eu]:\n  where: region = 'eu'\n\n"
        "checks for orders [eu]:\n  - row_count = 3\n  - min(amount) >= 0\n\n"
        "checks for orders:\n  - row_count = 8\n",
    )
    result = dq.validate_dataframe(orders, suite_name="regions", data_asset_name="orders")
    assert [(c.name, c.outcome, c.value, c.location) for c in result.checks] == [
        ("row_count = 3", "pass", 3, "<suite regions>:5"),
        ("min(amount) >= 0", "fail", -5.0, "<suite regions>:6"),
        ("row_count = 8", "pass", 8, "<suite regions>:9"),
    ]
