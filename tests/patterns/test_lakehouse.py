"""The lakehouse template on Delta and Iceberg: layers, gates, time travel, maintenance."""

from __future__ import annotations

import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from duckpipe.core.history import RunHistory
from duckpipe.project import load_project
from tests.patterns.helpers import duckpipe, init_project, lake_of, money, read_csv, rows_of

DAY1 = "data/orders/2025-06-01.csv"
DAY2 = "data/arriving/2025-06-02.csv"
LAYERS = ["silver_customers", "silver_orders", "gold_customer_value", "gold_daily_revenue"]


def latest_orders(*deliveries: list[dict[str, str]]) -> dict[int, tuple]:
    """order_id -> (order_date, status, amount) of its latest row, computed here."""
    latest: dict[int, dict[str, str]] = {}
    for row in (r for rows in deliveries for r in rows):
        known = latest.get(int(row["order_id"]))
        if known is None or row["updated_at"] >= known["updated_at"]:
            latest[int(row["order_id"])] = row
    return {
        k: (r["order_date"], r["status"].strip().lower(), money(r["amount"]))
        for k, r in latest.items()
    }


def daily_revenue(orders: dict[int, tuple]) -> dict[str, tuple[int, Decimal]]:
    out: dict[str, list] = defaultdict(lambda: [0, Decimal("0.00")])
    for date, status, amount in orders.values():
        if status in ("shipped", "completed"):
            out[date][0] += 1
            out[date][1] += amount
    return {d: (n, total) for d, (n, total) in out.items()}


def gold_revenue(rows: list[dict]) -> dict[str, tuple[int, Decimal]]:
    return {str(r["order_date"]): (r["orders"], r["revenue"]) for r in rows}


def silver(rows: list[dict]) -> dict[int, tuple]:
    return {r["order_id"]: (str(r["order_date"]), r["status"], r["amount"]) for r in rows}


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_bronze_silver_gold_with_gates_time_travel_and_maintenance(
    tmp_path: Path, fmt: str
) -> None:
    root = init_project(tmp_path, "lakehouse", "--format", fmt)
    assert load_project(root).config.format == fmt
    day1, day2 = read_csv(root / DAY1), read_csv(root / DAY2)

    duckpipe(root, "run")
    lake = lake_of(root)
    bronze = lake.dataset("bronze_orders").to_table()
    assert bronze.num_rows == len(day1)  # as delivered: rows sent twice are still there twice
    assert bronze.column_names[-3:] == ["_extracted_at", "_source", "_run_id"]
    assert silver(lake.dataset("silver_orders").to_table().to_pylist()) == latest_orders(day1)
    gold_day1 = lake.dataset("gold_daily_revenue").to_table().to_pylist()
    assert gold_revenue(gold_day1) == daily_revenue(latest_orders(day1))
    gold_version = lake.version("gold_daily_revenue")

    # day 2: new orders and new states of old ones; silver merges them, gold is rebuilt
    shutil.copy(root / DAY2, root / "data" / "orders")
    duckpipe(root, "run")
    lake = lake_of(root)
    state = latest_orders(day1, day2)
    assert silver(lake.dataset("silver_orders").to_table().to_pylist()) == state
    gold = lake.dataset("gold_daily_revenue").to_table().to_pylist()
    assert gold_revenue(gold) == daily_revenue(state)
    assert rows_of(lake, "gold_daily_revenue", version=gold_version) == {
        tuple(sorted(r.items())) for r in gold_day1
    }  # time travel

    # maintenance after the run: bronze's two landings are compacted into one file, and the
    # versions before it stay readable (vacuum keeps 168 hours)
    record = RunHistory(root / ".duckpipe").runs(1)[0]
    maintained = {s["name"]: s for s in record["steps"] if s["kind"] == "maintenance"}
    assert set(maintained) == {"bronze_orders", *LAYERS}
    assert all(s["status"] == "ok" for s in maintained.values())
    assert "compacted 2 files into 1" in maintained["bronze_orders"]["detail"]
    assert lake.describe("bronze_orders").num_files == 1
    assert lake.dataset("bronze_orders").to_table().num_rows == len(day1) + len(day2)
    first = lake.history("bronze_orders")[-1]["version"]
    assert lake.dataset("bronze_orders", version=first).to_table().num_rows == len(day1)

    # a bad delivery: bronze takes it, the silver gate refuses it, gold waits
    gated = ["silver_orders", "gold_customer_value", "gold_daily_revenue"]
    versions = {t: lake.version(t) for t in gated}
    bad = [{**day2[-1], "order_id": "999", "amount": "-5.00"}]
    (root / "data" / "orders" / "2025-06-03.csv").write_text(
        ",".join(bad[0]) + "\n" + ",".join(bad[0].values()) + "\n"
    )
    assert duckpipe(root, "run", ok=False).exit_code == 1
    steps = {s["name"]: s["status"] for s in RunHistory(root / ".duckpipe").runs(1)[0]["steps"]}
    assert steps["orders"] == "ok"
    assert steps["silver_orders"] == "blocked"
    assert steps["gold_daily_revenue"] == steps["gold_customer_value"] == "skipped"
    lake = lake_of(root)
    assert {t: lake.version(t) for t in gated} == versions
    assert silver(lake.dataset("silver_orders").to_table().to_pylist()) == state
