"""Plan then execute: the dry-run plan is the plan the run executes; runs are recorded."""

from __future__ import annotations

from pathlib import Path

from duckpipe.core.history import RunHistory
from duckpipe.plan import RunOptions
from duckpipe.project import load_project
from duckpipe.runner import make_plan, run_project
from duckpipe.scaffold import scaffold


def test_run_executes_the_planned_steps_and_records_them(tmp_path: Path) -> None:
    project = load_project(scaffold(tmp_path / "p"))
    plan = make_plan(project, project.open_lake(), RunOptions(dry_run=True))
    assert not (project.root / "lake").exists()

    report = run_project(project)
    assert report.ok
    assert [(s.kind, s.name) for s in report.plan.steps] == [(s.kind, s.name) for s in plan.steps]
    assert [s.name for s in report.record.steps] == [s.name for s in plan.steps]

    runs = RunHistory(project.state_dir).runs()
    assert runs[0]["run_id"] == report.record.run_id
    assert runs[0]["status"] == "success"
    assert runs[0]["finished_at"] >= runs[0]["started_at"]


def test_second_run_lands_nothing_new_from_unchanged_files(tmp_path: Path) -> None:
    project = load_project(scaffold(tmp_path / "p"))
    assert run_project(project).ok
    second = run_project(project)
    assert second.ok
    assert second.step("orders").rows == 0
    from duckpipe.engine import Engine

    eng = Engine()
    eng.attach_lake(project.open_lake())
    assert eng.arrow("select count(*) as n from raw_orders").to_pylist() == [{"n": 3000}]
