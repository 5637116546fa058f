"""Materializations: hooks run around a model, views swap, seeds keep configured types."""

from __future__ import annotations

from duckpipe.query import open_query_engine
from duckpipe.runner import run_project

from .conftest import MakeProject


def test_pre_and_post_hooks_run_around_the_model(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/a.sql": """
                {{ config(
                    materialized='table',
                    pre_hook="create or replace table hook_log as select 'pre' as phase",
                    post_hook=["insert into hook_log values ('post {{ this.name }}')"]
                ) }}
                select 1 as x
                """,
            "models/b.sql": "-- materialized: table\nselect phase from hook_log, {{ ref('a') }}",
        }
    )
    report = run_project(project)
    assert report.ok, [(s.name, s.detail) for s in report.record.steps]
    engine = open_query_engine(project)
    try:
        assert sorted(engine.arrow("select phase from b").column("phase").to_pylist()) == [
            "post a",
            "pre",
        ]
    finally:
        engine.close()


def test_seed_types_inferred_or_configured(make_project: MakeProject) -> None:
    project = make_project(
        {"seeds/codes.csv": "code,population,joined\n007,12,2024-01-02\n042,3,2024-02-03\n"},
        config="seeds:\n  codes:\n    column_types: {code: varchar}\n",
    )
    assert run_project(project).ok
    engine = open_query_engine(project)
    try:
        types = dict(engine.con.execute("describe codes").fetchall()[i][:2] for i in range(3))
        assert types == {"code": "VARCHAR", "population": "BIGINT", "joined": "DATE"}
        assert engine.arrow("select code from codes order by code").column(0).to_pylist() == [
            "007",
            "042",
        ]
    finally:
        engine.close()


def test_unknown_seed_column_type_names_the_setting(make_project: MakeProject) -> None:
    project = make_project(
        {"seeds/codes.csv": "code\n1\n"},
        config="seeds:\n  codes:\n    column_types: {kode: varchar}\n",
    )
    step = run_project(project).step("codes")
    assert step.status == "failed"
    assert (step.detail or "").startswith("duckpipe.yml seeds.codes.column_types:")


def test_a_view_replaces_an_older_table_of_the_same_name(make_project: MakeProject) -> None:
    project = make_project({"models/m.sql": "-- materialized: table\nselect 1 as x"})
    assert run_project(project).ok
    (project.root / "models/m.sql").write_text("select 2 as x")
    from duckpipe.project import load_project

    project = load_project(project.root)
    report = run_project(project)
    assert report.ok
    assert report.step("m").table == "m"
    engine = open_query_engine(project)  # the lake still has the old table; the view wins
    try:
        assert engine.arrow("select x from m").to_pylist() == [{"x": 2}]
    finally:
        engine.close()
