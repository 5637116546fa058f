"""The reference project's checks (sql/checks/shop.yml) pass on its data, during a run and alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa

from duckpipe.check import check_project
from duckpipe.project import load_project
from duckpipe.runner import run_project

REFERENCE = Path(__file__).resolve().parents[2] / "sql"


def test_reference_checks_pass_in_the_run_and_alone(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(REFERENCE, root, ignore=shutil.ignore_patterns("lake", ".duckpipe"))
    report = run_project(load_project(root))
    assert report.ok, [(s.name, s.status, s.detail) for s in report.record.steps]
    audited = {
        s.name: [(c["name"], c["outcome"]) for c in s.checks]
        for s in report.record.steps
        if s.checks
    }
    assert audited == {
        "orders": [
            ("row_count > 0", "pass"),
            ("missing_count(order_id) = 0", "pass"),
            ("duplicate_count(order_id) = 0", "pass"),
        ],
        "order_payments": [
            ("row_count > 0", "pass"),
            ("min(order_amount) >= 0", "pass"),
            ("invalid_count(status) = 0", "pass"),
        ],
        "customer_revenue": [
            ("duplicate_count(customer_id) = 0", "pass"),
            ("missing_count(country) = 0", "pass"),
        ],
    }
    alone = check_project(load_project(root))
    assert alone.ok and len(alone.results) == 8
    assert {r.outcome for r in alone.results} == {"pass"}
    assert not any(t.startswith("_quarantine/") for t in load_project(root).open_lake().tables())


def test_checks_for_a_table_only_the_lake_knows(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "checks").mkdir(parents=True)
    (root / "duckpipe.yml").write_text("name: p\nlake: ./lake\n")
    (root / "checks" / "events.yml").write_text(
        "checks for events:\n  - row_count = 3\n  - max(n) < 3\n"
    )
    load_project(root).open_lake().write("events", pa.table({"n": [1, 2, 3]}), mode="overwrite")
    report = check_project(load_project(root))
    assert [(r.name, r.outcome, r.value) for r in report.results] == [
        ("row_count = 3", "pass", 3),
        ("max(n) < 3", "fail", 3),
    ]
    assert not report.ok
