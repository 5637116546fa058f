"""Column lineage across models, down to seeds, sources and lake tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from duckpipe.core.errors import ProjectError
from duckpipe.project import load_project
from duckpipe.query import open_query_engine
from duckpipe.runner import run_project
from duckpipe.transform.graph import build_graph
from duckpipe.transform.lineage import Lineage, leaf_schemas

from .conftest import MakeProject
from .test_dbt_project import PROJECT

CHAIN = {
    "seeds/prices.csv": "sku,price\na,1.5\n",
    "models/stg_sales.sql": "select sku, qty, qty * 2 as qty2 from raw_sales",
    "models/priced.sql": """
        select s.sku, s.qty2 * p.price as value, s.qty as units
        from {{ ref('stg_sales') }} as s join {{ ref('prices') }} as p on p.sku = s.sku
        """,
    "models/by_sku.sql": "select sku, sum(value) as revenue, count(*) as n from {{ ref('priced') }} group by sku",
    "models/top.sql": "select upper(sku) as sku_code, revenue / 100 as revenue_k from {{ ref('by_sku') }}",
}
SOURCES = "sources:\n  sales: {uri: data/sales.csv}\n"


def test_lineage_through_four_models(make_project: MakeProject) -> None:
    lineage = Lineage(build_graph(make_project(CHAIN, config=SOURCES)))
    node = lineage.column("top", "revenue_k")
    assert node.lines() == [
        "top.revenue_k  [view]  = by_sku.revenue / 100",
        "    by_sku.revenue  [view]  = SUM(priced.value)",
        "        priced.value  [view]  = s.qty2 * p.price",
        "            prices.price  [seed]",
        "            stg_sales.qty2  [view]  = raw_sales.qty * 2",
        "                raw_sales.qty  [source sales]",
    ]
    assert {(o.relation, o.column) for o in node.origins()} == {
        ("raw_sales", "qty"),
        ("prices", "price"),
    }
    assert [n.column for n in lineage.model("top")] == ["sku_code", "revenue_k"]
    sku = lineage.column("top", "sku_code")
    assert [(o.relation, o.column) for o in sku.origins()] == [("raw_sales", "sku")]


def test_lineage_expands_stars_with_schemas_from_the_lake(tmp_path: Path) -> None:
    shutil.copytree(PROJECT, tmp_path / "shop")
    project = load_project(tmp_path / "shop")
    assert run_project(project).ok
    graph = build_graph(project)
    engine = open_query_engine(project)
    try:
        lineage = Lineage(graph, leaf_schemas(engine, graph))
    finally:
        engine.close()
    node = lineage.column("customer_revenue", "revenue_usd")
    paths = {(o.relation, o.column, o.kind) for o in node.origins()}
    assert paths == {("raw_orders", "amount", "source orders"), ("fx_rates", "rate", "seed")}
    # customer_revenue -> int_orders_usd (ephemeral) -> stg_orders -> raw_orders
    chain = [node]
    while chain[-1].upstream:
        chain.append(chain[-1].upstream[-1])  # upstream is sorted: fx_rates.rate, stg_orders.amount
    assert [(n.relation, n.column) for n in chain] == [
        ("customer_revenue", "revenue_usd"),
        ("int_orders_usd", "amount_usd"),
        ("stg_orders", "amount"),
        ("raw_orders", "amount"),
    ]
    assert chain[1].kind == "ephemeral"


def test_unknown_model_or_column(make_project: MakeProject) -> None:
    lineage = Lineage(build_graph(make_project(CHAIN, config=SOURCES)))
    with pytest.raises(ProjectError, match="did you mean 'by_sku'"):
        lineage.column("by_skus", "n")
    with pytest.raises(ProjectError, match="did you mean 'revenue'"):
        lineage.column("by_sku", "revenu")
