"""``duckpipe run --dry-run``, ``duckpipe compile`` and ``duckpipe lineage`` on a dbt-style project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from duckpipe.cli import cli

from .test_dbt_project import PROJECT


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT, tmp_path / "shop")
    return tmp_path / "shop"


def invoke(shop: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["-p", str(shop), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_dry_run_prints_order_materialization_and_compiled_path(shop: Path) -> None:
    out = invoke(shop, "run", "--dry-run", "-s", "+orders_current")
    lines = [line.split(". ", 1)[1] for line in out.splitlines()[1:]]
    assert lines == [
        "land orders -> raw_orders (1 new file(s) of 1)",
        "seed fx_rates <- seeds/fx_rates.csv",
        "model stg_orders as view after source:orders [target/compiled/models/staging/stg_orders.sql]",
        "model int_orders_usd as ephemeral after fx_rates, stg_orders",
        "model orders_current as incremental (merge on order_id) after int_orders_usd "
        "[target/compiled/models/marts/orders_current.sql]",
    ]
    assert not (shop / "target").exists() and not (shop / "lake").exists()


def test_compile_writes_files_and_lists_them(shop: Path) -> None:
    out = json.loads(invoke(shop, "compile", "--format", "json", "-s", "tag:finance"))
    assert {o["name"]: o["path"] for o in out} == {
        "customer_revenue": "target/compiled/models/marts/customer_revenue.sql",
        "daily_usd": "target/compiled/models/marts/daily_usd.sql",
        "orders_current": "target/compiled/models/marts/orders_current.sql",
        "order_log": "target/compiled/models/marts/order_log.sql",
    }
    text = (shop / "target/compiled/models/marts/daily_usd.sql").read_text()
    assert "is_incremental" not in text and "__dbt__cte__int_orders_usd as (" in text


def test_lineage_of_a_column_and_of_a_model(shop: Path) -> None:
    invoke(shop, "run")
    tree = invoke(shop, "lineage", "customer_revenue.revenue_usd").splitlines()
    assert tree[0].startswith(
        "customer_revenue.revenue_usd  [table]  = COALESCE(SUM(o.amount_usd), 0)"
    )
    assert "            raw_orders.amount  [source orders]" in tree
    data = json.loads(invoke(shop, "lineage", "stg_customers", "--format", "json"))
    assert [(c["column"], c["upstream"][0]["relation"]) for c in data] == [
        ("customer_id", "raw_customers"),
        ("name", "raw_customers"),
        ("country", "raw_customers"),
    ]


def test_failed_run_exits_non_zero_and_names_the_file(shop: Path) -> None:
    (shop / "models/staging/stg_customers.sql").write_text(
        "select customer_id,\n  nme\nfrom raw_customers"
    )
    result = CliRunner().invoke(cli, ["-p", str(shop), "run", "--format", "json"])
    assert result.exit_code == 1
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    finished = {e["name"]: e for e in events if e["event"] == "step_finished" and "name" in e}
    assert finished["stg_customers"]["status"] == "failed"
    assert finished["stg_customers"]["detail"].startswith(
        "models/staging/stg_customers.sql:2: Binder Error"
    )
    assert finished["orders_current"]["status"] == "ok"
    started = [e["name"] for e in events if e["event"] == "step_started"]
    assert "customer_revenue" not in started  # skipped: its upstream failed
    assert any(e["event"] == "step_finished" and e.get("status") == "skipped" for e in events)
