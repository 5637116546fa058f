"""Dependencies come from the SQL itself; cycles and unknown names are errors that point at the file."""

from __future__ import annotations

import pytest

from duckpipe.core.errors import ConfigError, ProjectError
from duckpipe.transform.graph import build_graph

from .conftest import MakeProject

SOURCES = """
sources:
  orders: {uri: data/orders.csv}
"""


def test_dependencies_from_refs_plain_names_sources_and_seeds(make_project: MakeProject) -> None:
    project = make_project(
        {
            "seeds/rates.csv": "currency,rate\nusd,1.0\n",
            "models/stg_orders.sql": "select * from raw_orders",
            "models/enriched.sql": """
                with o as (select * from {{ ref('stg_orders') }})
                select o.*, r.rate from o join rates r on true
                """,
            "models/report.sql": "select count(*) from enriched, (select 1) as sub",
        },
        config=SOURCES,
    )
    graph = build_graph(project)
    assert graph.order == ["stg_orders", "enriched", "report"]
    assert graph.models["stg_orders"].depends_on == {"source:orders": 1}
    assert graph.models["enriched"].depends_on == {"stg_orders": 1, "rates": 2}
    assert graph.models["report"].depends_on == {"enriched": 1}
    assert graph.models["report"].externals == {}


def test_unknown_plain_names_are_lake_tables_checked_at_run(make_project: MakeProject) -> None:
    project = make_project({"models/a.sql": "select *\nfrom some_lake_table"})
    assert build_graph(project).models["a"].externals == {"some_lake_table": 2}


def test_incremental_branch_references_count(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/src.sql": "select 1 as id",
            "models/side.sql": "select 1 as id",
            "models/inc.sql": """
                {{ config(materialized='incremental') }}
                select * from {{ ref('src') }}
                {% if is_incremental() %}where id not in (select id from {{ ref('side') }}){% endif %}
                """,
        }
    )
    assert set(build_graph(project).models["inc"].depends_on) == {"src", "side"}


def test_a_cycle_names_every_model_file_and_line(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/a.sql": "select * from {{ ref('c') }}",
            "models/b.sql": "select 1 as x\nfrom {{ ref('a') }}",
            "models/c.sql": "select *\n\nfrom b",
            "models/ok.sql": "select 1 as x",
        }
    )
    with pytest.raises(ProjectError) as err:
        build_graph(project)
    text = str(err.value)
    assert "models form a cycle: a -> c -> b -> a" in text
    assert "a reads c (models/a.sql:1)" in text
    assert "c reads b (models/c.sql:3)" in text
    assert "b reads a (models/b.sql:2)" in text


def test_self_reference_through_this_is_not_a_cycle(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/inc.sql": """
                {{ config(materialized='incremental') }}
                select 1 as id {% if is_incremental() %}where 1 > (select count(*) from {{ this }}){% endif %}
                """
        }
    )
    assert build_graph(project).models["inc"].depends_on == {}


def test_unknown_ref_names_file_line_and_closest_names(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/stg_orders.sql": "select 1 as id",
            "models/report.sql": "select *\nfrom {{ ref('stg_ordrs') }}",
        }
    )
    with pytest.raises(ProjectError) as err:
        build_graph(project)
    assert err.value.where == "models/report.sql:2"
    assert "ref('stg_ordrs') names no model or seed" in str(err.value)
    assert "did you mean 'stg_orders'?" in str(err.value)


def test_unknown_source_names_the_file_line(make_project: MakeProject) -> None:
    project = make_project(
        {"models/a.sql": "select 1 as x\nfrom {{ source('shop', 'ordrs') }}"}, config=SOURCES
    )
    with pytest.raises(ProjectError) as err:
        build_graph(project)
    assert err.value.where == "models/a.sql:2"
    assert "did you mean 'orders'?" in str(err.value)


def test_dbt_style_source_declarations(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/sources.yml": """
                version: 2
                sources:
                  - name: shop
                    tables:
                      - name: orders
                        identifier: raw_orders
                      - name: refunds
                """,
            "models/a.sql": "select * from {{ source('shop', 'orders') }}",
            "models/b.sql": "select * from {{ source('shop', 'refunds') }}",
        },
        config=SOURCES,
    )
    graph = build_graph(project)
    assert graph.models["a"].depends_on == {"source:orders": 1}
    assert graph.render("a").sql == 'select * from "raw_orders"'
    assert graph.render("b").sql == 'select * from "refunds"'


def test_disabled_models_leave_the_graph_and_cannot_be_referenced(
    make_project: MakeProject,
) -> None:
    project = make_project(
        {
            "models/off.sql": "{{ config(enabled=false) }}select 1 as x",
            "models/a.sql": "select * from {{ ref('off') }}",
        }
    )
    with pytest.raises(ProjectError, match="disabled model"):
        build_graph(project)


def test_sql_syntax_error_is_kept_for_the_model_with_its_line(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/bad.sql": "{{ config(materialized='table') }}\nselect id,\n  amount\nfrm orders",
            "models/good.sql": "select 1 as x",
        }
    )
    graph = build_graph(project)
    error = graph.models["bad"].error
    assert error is not None
    assert error.where == "models/bad.sql:4"
    assert "syntax error" in str(error)
    assert graph.models["good"].error is None


def test_invalid_config_value_names_where_it_was_set(make_project: MakeProject) -> None:
    project = make_project({"models/a.sql": "select 1 as x\n{{ config(materialized='tabel') }}"})
    with pytest.raises(ConfigError) as err:
        build_graph(project)
    assert err.value.where == "models/a.sql:2"
    assert "did you mean 'table'?" in str(err.value)


def test_duplicate_key_in_a_models_yml_names_the_file_path_and_both_lines(
    make_project: MakeProject,
) -> None:
    project = make_project(
        {
            "models/sources.yml": (
                "version: 2\n"
                "sources:\n"
                "  - name: shop\n"
                "    tables:\n"
                "      - name: orders\n"
                "        identifier: raw_orders\n"
                "        identifier: orders_v2\n"
            ),
            "models/a.sql": "select * from {{ source('shop', 'orders') }}",
        },
        config=SOURCES,
    )
    with pytest.raises(ConfigError) as err:
        build_graph(project)
    assert err.value.where == "models/sources.yml:7"
    assert "duplicate key 'sources.0.tables.0.identifier'" in err.value.message
    assert "first at line 6, again at line 7" in err.value.message
    assert "merge the two 'identifier:' entries" in str(err.value.hint)
