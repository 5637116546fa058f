"""Compiled SQL: Jinja rendered, ephemeral models inlined as CTEs, a line map back to the files."""

from __future__ import annotations

import duckdb

from duckpipe.plan import RunOptions
from duckpipe.transform.compile import compile_model, compile_project
from duckpipe.transform.graph import build_graph

from .conftest import MakeProject

FILES = {
    "models/base.sql": "{{ config(materialized='ephemeral') }}\nselect range as id from range(5)",
    "models/evens.sql": """
        {{ config(materialized='ephemeral') }}
        select id
        from {{ ref('base') }}
        where id % 2 = 0
        """,
    "models/plain.sql": "-- materialized: ephemeral\nselect id * 10 as big from evens",
    "models/report.sql": """
        with doubled as (
            select id * 2 as d from {{ ref('evens') }}
        )
        select (select sum(d) from doubled) as d, (select sum(big) from {{ ref('plain') }}) as big
        """,
    "models/flat.sql": "select count(*) as n from {{ ref('base') }}",
}


def test_ephemeral_models_are_inlined_deepest_first(make_project: MakeProject) -> None:
    graph = build_graph(make_project(FILES))
    flat = compile_model(graph, "flat")
    assert flat.sql == (
        "with __dbt__cte__base as (\n"
        "select range as id from range(5)\n"
        ")\n"
        "select count(*) as n from __dbt__cte__base"
    )
    assert duckdb.sql(flat.sql).fetchall() == [(5,)]

    report = compile_model(graph, "report")
    sql = report.sql
    assert sql.startswith("with __dbt__cte__base as (")
    assert sql.index("__dbt__cte__base as") < sql.index("__dbt__cte__evens as")
    assert sql.index("__dbt__cte__evens as") < sql.index("__dbt__cte__plain as")
    assert '"evens" as (\nselect * from __dbt__cte__evens\n)' in sql  # plain name reference
    assert "doubled as (" in sql  # the model's own WITH clause is kept, after the inlined ones
    assert duckdb.sql(sql).fetchall() == [(12, 60)]


def test_source_map_points_into_the_ephemeral_file(make_project: MakeProject) -> None:
    graph = build_graph(make_project(FILES))
    report = compile_model(graph, "report")
    lines = report.sql.split("\n")
    where_line = next(i for i, text in enumerate(lines, 1) if "where id % 2 = 0" in text)
    assert report.source_map.locate(where_line) == ("models/evens.sql", 4)
    own = next(i for i, text in enumerate(lines, 1) if "select id * 2 as d" in text)
    assert report.source_map.locate(own) == ("models/report.sql", 2)


def test_compile_project_writes_target_compiled(make_project: MakeProject) -> None:
    project = make_project(FILES)
    outcomes = compile_project(project, RunOptions())
    written = {o.name: o.path for o in outcomes}
    assert written["report"] == "target/compiled/models/report.sql"
    text = (project.root / "target/compiled/models/report.sql").read_text()
    assert text == compile_model(build_graph(project), "report").sql + "\n"
    assert all(o.error is None for o in outcomes)


def test_compile_reports_each_broken_model(make_project: MakeProject) -> None:
    project = make_project(
        {"models/ok.sql": "select 1 as x", "models/bad.sql": "select\nfrom from"}
    )
    outcomes = {o.name: o for o in compile_project(project, RunOptions())}
    assert outcomes["ok"].error is None
    assert outcomes["bad"].error is not None and "models/bad.sql:2" in outcomes["bad"].error


def test_incremental_compiles_its_incremental_branch(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/inc.sql": """
                {{ config(materialized='incremental', unique_key='id') }}
                select 1 as id
                {% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}
                """
        }
    )
    first = compile_project(project, RunOptions(), exists=lambda name: False)
    assert "where" not in (project.root / first[0].path).read_text()
    compile_project(project, RunOptions(), exists=lambda name: True)
    assert 'where id > (select max(id) from "inc")' in (project.root / first[0].path).read_text()
