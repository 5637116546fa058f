"""Acceptance: a dbt-style project runs unchanged, and its results equal the compiled SQL run by
hand in a plain DuckDB; after increments the incremental models equal a full rebuild."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from duckpipe.plan import RunOptions
from duckpipe.project import Project, load_project
from duckpipe.query import open_query_engine
from duckpipe.runner import run_project
from duckpipe.transform.compile import compile_project
from duckpipe.transform.graph import build_graph

PROJECT = Path(__file__).parent / "projects" / "dbt_shop"
MODELS = [
    "stg_orders",
    "stg_customers",
    "customer_revenue",
    "orders_current",
    "daily_usd",
    "order_log",
]

PART2 = """order_id,customer_id,order_date,updated_at,status,amount,currency
6,4,2024-01-03,2024-01-03 18:00:00,completed,99.99,eur
7,5,2024-01-03,2024-01-03 19:00:00,placed,12.00,usd
8,1,2024-01-04,2024-01-04 08:00:00,placed,3.00,gbp
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    shutil.copytree(PROJECT, tmp_path / "shop")
    return load_project(tmp_path / "shop")


def duckpipe_rows(project: Project) -> dict[str, list[tuple]]:
    engine = open_query_engine(project)
    try:
        return {m: _sorted(engine.con.sql(f'select * from "{m}"')) for m in MODELS}
    finally:
        engine.close()


def by_hand_rows(project: Project) -> dict[str, list[tuple]]:
    """Compile with duckpipe, then run the SQL files in a plain DuckDB over the raw CSV files."""
    compile_project(project, RunOptions(full_refresh=True))
    con = duckdb.connect()
    root = project.root
    con.execute(f"create table raw_orders as select * from read_csv('{root}/data/orders/*.csv')")
    con.execute(
        f"create table raw_customers as select * from read_csv('{root}/data/customers.csv')"
    )
    con.execute(
        f"create table fx_rates as select * from read_csv('{root}/seeds/fx_rates.csv', "
        "types={'rate': 'decimal(10, 4)'})"
    )
    graph = build_graph(project)
    for name in graph.order:
        node = graph.models[name]
        if node.materialized == "ephemeral":
            continue
        sql = (root / "target/compiled" / node.path).read_text()
        kind = "view" if node.materialized == "view" else "table"
        con.execute(f'create {kind} "{name}" as {sql}')
    return {m: _sorted(con.sql(f'select * from "{m}"')) for m in MODELS}


def _sorted(relation: duckdb.DuckDBPyRelation) -> list[tuple]:
    columns = sorted(relation.columns)
    return sorted(relation.select(", ".join(f'"{c}"' for c in columns)).fetchall(), key=repr)


def test_dbt_style_project_equals_its_compiled_sql_by_hand(project: Project) -> None:
    report = run_project(project)
    assert report.ok, [(s.name, s.detail) for s in report.record.steps if s.status != "ok"]
    assert [s.name for s in report.record.steps] == [
        "orders", "customers", "fx_rates",
        "order_log", "stg_customers", "stg_orders",  # read only sources and seeds
        "int_orders_usd",
        "customer_revenue", "daily_usd", "orders_current",
    ]  # fmt: skip
    ours = duckpipe_rows(project)
    assert ours == by_hand_rows(project)
    ada = next(row for row in ours["customer_revenue"] if row[2] == "Ada")
    assert ada == ("UK", 1, "Ada", 2, Decimal("32.2000"))  # 10.50 usd + 20.00 eur * 1.085
    assert len(ours["orders_current"]) == 5  # order 5 is below min_amount
    assert (
        report.step("int_orders_usd").detail
        == "inlined into customer_revenue, daily_usd, orders_current"
    )
    compiled = (project.root / "target/compiled/models/marts/customer_revenue.sql").read_text()
    assert compiled.startswith("with __dbt__cte__int_orders_usd as (")


def test_increments_equal_a_full_rebuild(project: Project) -> None:
    assert run_project(project).ok
    (project.root / "data/orders/part2.csv").write_text(PART2)
    second = run_project(project)
    assert second.ok
    assert second.step("orders_current").rows == 3  # order 6 changed, 7 and 8 are new
    assert second.step("order_log").rows == 3
    assert second.step("daily_usd").rows == 2  # 2024-01-03 recomputed, 2024-01-04 new
    incremental = duckpipe_rows(project)
    assert incremental == by_hand_rows(project)
    order_ids = [row[3] for row in incremental["orders_current"]]  # columns sorted by name
    assert sorted(order_ids) == [1, 2, 3, 4, 6, 7, 8]

    rebuilt = run_project(project, RunOptions(full_refresh=True))
    assert rebuilt.ok
    assert duckpipe_rows(project) == incremental


def test_every_model_is_queryable_by_name_in_a_fresh_process(
    project: Project, tmp_path: Path
) -> None:
    import subprocess
    import sys

    assert run_project(project).ok
    out = subprocess.run(
        [str(Path(sys.executable).parent / "duckpipe"), "-p", str(project.root), "query", "--format", "csv",
         "select (select count(*) from stg_orders) as s, (select count(*) from customer_revenue) as c, "
         "(select count(*) from fx_rates) as f, (select count(*) from order_log) as l"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.splitlines() == ['"s","c","f","l"', "5,5,3,6"]
