"""Errors name the model file and the line in it; a failing model stops only its downstream."""

from __future__ import annotations

from duckpipe.plan import RunOptions
from duckpipe.runner import run_project

from .conftest import MakeProject

FILES = {
    "models/base.sql": "select range as id, 'x' || range as label from range(3)",
    "models/broken.sql": """
        {{ config(materialized='table') }}
        select
            id,
            cast(label as integer) as label_number
        from {{ ref('base') }}
        """,
    "models/after_broken.sql": "select count(*) as n from {{ ref('broken') }}",
    "models/after_after.sql": "select * from {{ ref('after_broken') }}",
    "models/independent.sql": "-- materialized: table\nselect sum(id) as total from {{ ref('base') }}",
}


def test_runtime_error_names_file_line_and_stops_only_downstream(make_project: MakeProject) -> None:
    report = run_project(make_project(FILES))
    assert not report.ok
    status = {s.name: s.status for s in report.record.steps}
    assert status == {
        "base": "ok",
        "broken": "failed",
        "independent": "ok",
        "after_broken": "skipped",
        "after_after": "skipped",
    }
    detail = report.step("broken").detail or ""
    assert detail.startswith(
        "models/broken.sql:4: Conversion Error: Could not convert string 'x0' to INT32"
    )
    assert (
        "  > 4 |     cast(label as integer) as label_number" in detail
    )  # the line of the original file
    assert report.step("after_broken").detail == "upstream broken did not publish"
    assert report.step("after_after").detail == "upstream after_broken did not publish"


def test_unknown_column_points_at_its_line(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/a.sql": "{% set n = 2 %}\nselect\n  {{ n }} as two,\n  amont\nfrom range(3) t(amount)"
        }
    )
    detail = run_project(project).step("a").detail or ""
    assert detail.startswith('models/a.sql:4: Binder Error: Referenced column "amont" not found')
    assert '"amount"' in detail  # DuckDB's candidate names are kept


def test_qualified_unknown_column_points_at_its_line(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/a.sql": "select\n  o.x,\n  o.y,\n  o.amont\nfrom (values (1, 2, 3)) o(x, y, amount)"
        }
    )
    detail = run_project(project).step("a").detail or ""
    assert detail.startswith(
        'models/a.sql:4: Binder Error: Values list "o" does not have a column named "amont"'
    )


def test_syntax_error_points_at_its_line(make_project: MakeProject) -> None:
    project = make_project(
        {"models/a.sql": "{{ config(materialized='table') }}\nselect 1 as x\nfrom range(3) where"}
    )
    detail = run_project(project).step("a").detail or ""
    assert detail.startswith("models/a.sql:3: SQL syntax error")


def test_unknown_table_names_file_line_and_closest_names(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/stg_orders.sql": "select 1 as id",
            "models/report.sql": "select *\nfrom stg_ordrs",
        }
    )
    step = run_project(project).step("report")
    assert step.status == "failed"
    assert (step.detail or "").startswith(
        "models/report.sql:2: 'stg_ordrs' names no model, seed, source or lake table"
    )
    assert "did you mean 'stg_orders'?" in (step.detail or "")


def test_error_inside_an_ephemeral_model_points_at_that_file(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/eph.sql": "{{ config(materialized='ephemeral') }}\nselect\n  1 / 'a'::int as boom",
            "models/user.sql": "-- materialized: table\nselect * from {{ ref('eph') }}",
        }
    )
    detail = run_project(project).step("user").detail or ""
    assert detail.startswith("models/eph.sql:3: Conversion Error")


def test_selected_model_whose_upstream_table_was_never_built(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/up.sql": "{{ config(materialized='table') }}select 1 as x",
            "models/down.sql": "select * from\n{{ ref('up') }}",
        }
    )
    step = run_project(project, RunOptions(select=("down",))).step("down")
    assert step.status == "failed"
    assert "models/down.sql:2: 'down' reads table model 'up', which is not in the lake yet" in (
        step.detail or ""
    )
    assert run_project(project, RunOptions(select=("+down",))).ok
    assert run_project(project, RunOptions(select=("down",))).ok  # now it reads the lake table
