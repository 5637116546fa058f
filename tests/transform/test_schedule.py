"""Concurrent model builds (models.concurrency > 1) give the same results as one at a time."""

from __future__ import annotations

import shutil
from pathlib import Path

from duckpipe.project import load_project
from duckpipe.runner import run_project

from .conftest import MakeProject
from .test_dbt_project import PROJECT, by_hand_rows, duckpipe_rows


def test_concurrent_run_equals_compiled_sql_by_hand(tmp_path: Path) -> None:
    shutil.copytree(PROJECT, tmp_path / "shop")
    config = tmp_path / "shop" / "duckpipe.yml"
    config.write_text(config.read_text().replace("models:\n", "models:\n  concurrency: 3\n", 1))
    project = load_project(tmp_path / "shop")
    assert project.config.models.concurrency == 3
    report = run_project(project)
    assert report.ok, [(s.name, s.detail) for s in report.record.steps if s.status != "ok"]
    assert [s.name for s in report.record.steps] == [s.name for s in report.plan.steps]
    assert duckpipe_rows(project) == by_hand_rows(project)


def test_concurrent_failure_skips_only_downstream(make_project: MakeProject) -> None:
    files = {f"models/m{i}.sql": f"-- materialized: table\nselect {i} as x" for i in range(4)}
    files["models/bad.sql"] = "-- materialized: table\nselect 'a'::int as x"
    files["models/after_bad.sql"] = "select * from {{ ref('bad') }}"
    files["models/total.sql"] = (
        "select "
        + " + ".join(f"(select x from {{{{ ref('m{i}') }}}})" for i in range(4))
        + " as total"
    )
    project = make_project(files, config="models:\n  concurrency: 2\n")
    report = run_project(project)
    status = {s.name: s.status for s in report.record.steps}
    assert status == {
        **{f"m{i}": "ok" for i in range(4)},
        "bad": "failed",
        "after_bad": "skipped",
        "total": "ok",
    }
    assert (report.step("bad").detail or "").startswith("models/bad.sql:2: Conversion Error")
    from duckpipe.query import open_query_engine

    engine = open_query_engine(project)
    try:
        assert engine.arrow("select total from total").to_pylist() == [{"total": 6}]
    finally:
        engine.close()
