"""Selection syntax: name, name+, +name, tag:x, path:dir, source:x, exclude, intersections."""

from __future__ import annotations

import pytest

from duckpipe.core.errors import ProjectError
from duckpipe.plan import ModelStep, RunOptions, SourceStep, build_plan
from duckpipe.transform.graph import build_graph
from duckpipe.transform.select import select_nodes

from .conftest import MakeProject

CONFIG = """
sources:
  orders: {uri: data/orders.csv}
  customers: {uri: data/customers.csv}
models:
  paths:
    marts: {materialized: table, tags: [finance]}
"""

FILES = {
    "seeds/fx.csv": "currency,rate\nusd,1\n",
    "models/staging/stg_orders.sql": "select * from raw_orders",
    "models/staging/stg_customers.sql": "select * from raw_customers",
    "models/marts/orders.sql": "select * from {{ ref('stg_orders') }} join fx on true",
    "models/marts/revenue.sql": "select * from {{ ref('orders') }} join {{ ref('stg_customers') }} using (customer_id)",
    "models/marts/summary.sql": "-- tags: [exec]\nselect count(*) from {{ ref('revenue') }}",
}


@pytest.fixture
def graph(make_project: MakeProject):
    return build_graph(make_project(FILES, config=CONFIG))


@pytest.mark.parametrize(
    ("select", "exclude", "expected"),
    [
        (["orders"], [], {"orders"}),
        (["orders+"], [], {"orders", "revenue", "summary"}),
        (["orders+1"], [], {"orders", "revenue"}),
        (["+orders"], [], {"orders", "stg_orders", "fx", "source:orders"}),
        (["1+revenue"], [], {"revenue", "orders", "stg_customers"}),
        (
            ["+revenue"],
            ["stg_orders"],
            {"revenue", "orders", "stg_customers", "fx", "source:orders", "source:customers"},
        ),
        (["tag:finance"], [], {"orders", "revenue", "summary"}),
        (["tag:exec"], [], {"summary"}),
        (["path:models/staging"], [], {"stg_orders", "stg_customers"}),
        (["path:marts"], ["summary"], {"orders", "revenue"}),
        (["source:customers+"], [], {"source:customers", "stg_customers", "revenue", "summary"}),
        (["stg_*"], [], {"stg_orders", "stg_customers"}),
        (["tag:finance,revenue+"], [], {"revenue", "summary"}),
        (["stg_orders stg_customers"], [], {"stg_orders", "stg_customers"}),
        (
            ["@stg_customers"],
            [],
            {
                "stg_customers",
                "revenue",
                "summary",
                "orders",
                "stg_orders",
                "fx",
                "source:orders",
                "source:customers",
            },
        ),
        (["config.materialized:view"], [], {"stg_orders", "stg_customers"}),
        (
            [],
            ["tag:finance"],
            {"stg_orders", "stg_customers", "fx", "source:orders", "source:customers"},
        ),
        (["customers+"], [], {"source:customers", "stg_customers", "revenue", "summary"}),
    ],
)
def test_selectors(graph, select: list[str], exclude: list[str], expected: set[str]) -> None:
    # the model "orders" and the source "orders" are different nodes
    assert select_nodes(graph, select, exclude) == expected


def test_selection_decides_source_steps_and_model_steps(make_project: MakeProject) -> None:
    from duckpipe.sources.base import ExtractRange

    project = make_project(FILES, config=CONFIG)
    ranges = {name: ExtractRange(name, None, "all") for name in ("orders", "customers")}
    plan = build_plan(project, ranges, RunOptions(select=("+stg_customers",)))
    assert [(type(s).__name__, s.name) for s in plan.steps] == [
        ("SourceStep", "customers"),
        ("ModelStep", "stg_customers"),
    ]
    everything = build_plan(project, ranges, RunOptions())
    assert [s.name for s in everything.steps if isinstance(s, SourceStep)] == [
        "orders",
        "customers",
    ]
    models = [s for s in everything.steps if isinstance(s, ModelStep)]
    assert [m.name for m in models] == [
        "stg_customers",
        "stg_orders",
        "orders",
        "revenue",
        "summary",
    ]
    assert models[2].compiled_path == "target/compiled/models/marts/orders.sql"
    assert (
        "model orders as table after fx, stg_orders [target/compiled/models/marts/orders.sql]"
        in (models[2].describe())
    )
    assert models[1].depends_on == ("source:orders",)


def test_a_selector_that_matches_nothing_suggests_names(graph) -> None:
    with pytest.raises(ProjectError, match="did you mean 'revenue'"):
        select_nodes(graph, ["revenu"])
    with pytest.raises(ProjectError, match="did you mean 'finance'"):
        select_nodes(graph, ["tag:finanse"])
    with pytest.raises(ProjectError, match="unknown selector method 'tags'"):
        select_nodes(graph, ["tags:x"])
