"""Write-audit-publish through `duckpipe run`: a failing check blocks the publish, keeps the
previous version, skips what depends on it, exits non-zero; fixed data publishes."""

from __future__ import annotations

import json
from pathlib import Path

from duckpipe.cli import main
from duckpipe.core.history import RunHistory
from duckpipe.engine import Engine
from duckpipe.project import load_project
from duckpipe.runner import run_project
from tests.quality.conftest import write_orders


def lake_rows(root: Path, table: str) -> list[dict[str, object]]:
    engine = Engine()
    engine.attach_lake(load_project(root).open_lake())
    rows = engine.arrow(f"select * from {table} order by all").to_pylist()
    engine.close()
    return rows


def run_cli(root: Path, *args: str) -> int:
    """The exit status `duckpipe -p ROOT ARGS` ends with."""
    try:
        return int(main(["-p", str(root), *args]) or 0)
    except SystemExit as exit_:
        return int(exit_.code or 0)


def test_failing_model_check_blocks_publish_and_skips_downstream(wap_project: Path) -> None:
    project = load_project(wap_project)
    first = run_project(project)
    assert first.ok, [(s.name, s.status, s.detail) for s in first.record.steps]
    lake = project.open_lake()
    version = lake.version("customer_totals")
    before = lake_rows(wap_project, "customer_totals")
    assert before == [
        {"customer_id": 1, "total": 70.0, "orders": 2},
        {"customer_id": 2, "total": 20.0, "orders": 1},
    ]

    write_orders(wap_project, "2.csv", ["4,3,-500,placed"])  # customer 3 ends up negative
    assert run_cli(wap_project, "run") == 1

    run = RunHistory(project.state_dir).runs()[0]
    steps = {s["name"]: s for s in run["steps"]}
    assert run["status"] == "failed"
    assert steps["orders"]["status"] == "ok"  # the source's own checks pass
    assert steps["customer_totals"]["status"] == "blocked"
    assert steps["top_customers"]["status"] == "skipped"
    failing = [c for c in steps["customer_totals"]["checks"] if c["outcome"] == "fail"]
    assert [(c["name"], c["value"], c["location"]) for c in failing] == [
        ("min(total) >= 0", -500.0, "checks/wap.yml:12")
    ]
    assert lake.version("customer_totals") == version
    assert lake_rows(wap_project, "customer_totals") == before

    write_orders(wap_project, "3.csv", ["5,3,600,shipped"])  # fixed: customer 3 totals 100
    fixed = run_project(load_project(wap_project))
    assert fixed.ok, [(s.name, s.status, s.detail) for s in fixed.record.steps]
    assert lake.version("customer_totals") == version + 1
    assert lake_rows(wap_project, "customer_totals")[-1] == {
        "customer_id": 3,
        "total": 100.0,
        "orders": 2,
    }
    assert [r["customer_id"] for r in lake_rows(wap_project, "top_customers")] == [1, 3]


def test_failing_source_check_keeps_table_and_position_and_quarantines_rows(
    wap_project: Path,
) -> None:
    project = load_project(wap_project)
    assert run_project(project).ok
    lake = project.open_lake()
    version = lake.version("raw_orders")

    write_orders(wap_project, "2.csv", ["4,,10,placed", "5,2,10,lost"])
    blocked = run_project(load_project(wap_project))
    assert not blocked.ok
    assert blocked.step("orders").status == "blocked"
    assert {blocked.step(n).status for n in ("stg_orders", "customer_totals", "top_customers")} == {
        "skipped"
    }
    assert lake.version("raw_orders") == version
    assert len(lake_rows(wap_project, "raw_orders")) == 3

    kept = lake.dataset("_quarantine/raw_orders").to_table().to_pylist()
    assert sorted((r["check"], json.loads(r["row"])["id"]) for r in kept) == [
        ("invalid_count(status) = 0", 5),
        ("missing_count(customer_id) = 0", 4),
    ]
    assert {r["run_id"] for r in kept} == {blocked.record.run_id}

    write_orders(wap_project, "2.csv", ["4,2,10,placed", "5,2,10,shipped"])  # fixed in place
    fixed = run_project(load_project(wap_project))
    assert fixed.ok, [(s.name, s.status, s.detail) for s in fixed.record.steps]
    assert len(lake_rows(wap_project, "raw_orders")) == 5
    assert lake_rows(wap_project, "customer_totals")[1] == {
        "customer_id": 2,
        "total": 40.0,
        "orders": 3,
    }


def test_warn_checks_publish_and_are_recorded(wap_project: Path) -> None:
    report = run_project(load_project(wap_project))
    assert report.ok
    stg = report.step("stg_orders")
    assert stg.status == "ok"
    assert [(c["name"], c["outcome"], c["value"]) for c in stg.checks] == [
        ("duplicate_count(customer_id) warn when > 0", "warn", 1)
    ]
    assert [c["name"] for c in report.step("orders").checks] == [
        "missing_count(customer_id) = 0",
        "invalid_count(status) = 0",
    ]


def test_skip_checks_publishes_without_auditing(wap_project: Path) -> None:
    write_orders(wap_project, "2.csv", ["4,3,-500,placed"])
    assert run_cli(wap_project, "run") == 1
    assert run_cli(wap_project, "run", "--skip-checks") == 0
    assert lake_rows(wap_project, "customer_totals")[-1]["total"] == -500.0
    assert RunHistory(load_project(wap_project).state_dir).runs()[0]["steps"][-2]["checks"] == []
