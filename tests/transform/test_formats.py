"""A model can be written in another table format than the project's (``format: iceberg``)."""

from __future__ import annotations

from duckpipe.query import open_query_engine
from duckpipe.runner import run_project
from duckpipe.sinks import open_sink

from .conftest import MakeProject


def test_iceberg_model_in_a_delta_project(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/events.sql": "{{ config(materialized='table', format='iceberg') }}\nselect range as id from range(5)",
            "models/delta_copy.sql": "-- materialized: table\nselect id * 2 as twice from {{ ref('events') }}",
        },
        config="lake: ./lake\nformat: delta\n",
    )
    report = run_project(project)
    assert report.ok, [(s.name, s.detail) for s in report.record.steps]
    iceberg = open_sink(
        project.lake_uri,
        format="iceberg",
        state_dir=project.state_dir,
        catalog=project.config.catalog,
    )
    delta = open_sink(project.lake_uri, format="delta")
    assert iceberg.exists("events") and not delta.exists("events")
    assert delta.exists("delta_copy")
    engine = open_query_engine(project)
    try:
        rows = engine.arrow(
            "select sum(id) as a, (select sum(twice) from delta_copy) as b from events"
        )
        assert rows.to_pylist() == [{"a": 10, "b": 20}]
    finally:
        engine.close()
