"""`duckpipe check`: the checks alone on current data, in the terminal, as JSON and in the history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from duckpipe.check import check_project
from duckpipe.cli import main
from duckpipe.core.history import RunHistory
from duckpipe.project import load_project
from tests.quality.conftest import write_orders

Duckpipe = Callable[..., tuple[int, str]]


@pytest.fixture
def duckpipe(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Duckpipe:
    """Run `duckpipe -p ROOT ARGS` in-process: (exit status, stdout and stderr)."""
    monkeypatch.setenv("COLUMNS", "250")

    def run(root: Path, *args: str) -> tuple[int, str]:
        capsys.readouterr()
        try:
            code = int(main(["-p", str(root), *args]) or 0)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


@pytest.fixture
def published_bad_data(wap_project: Path, duckpipe: Duckpipe) -> Path:
    """Bad rows published with --skip-checks: what `duckpipe check` is for."""
    write_orders(wap_project, "2.csv", ["4,,10,placed", "5,3,-500,lost"])
    code, _ = duckpipe(wap_project, "run", "--skip-checks")
    assert code == 0
    return wap_project


def test_check_passes_on_good_data_and_records_the_results(
    wap_project: Path, duckpipe: Duckpipe
) -> None:
    assert duckpipe(wap_project, "run")[0] == 0
    code, out = duckpipe(wap_project, "check", "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["status"] == "success"
    assert [(c["dataset"], c["name"], c["outcome"], c["value"]) for c in report["checks"]] == [
        ("customer_totals", "row_count > 0", "pass", 2),
        ("customer_totals", "min(total) >= 0", "pass", 20.0),
        ("customer_totals", "values in (customer_id) must exist in customers (id)", "pass", 0),
        ("raw_orders", "missing_count(customer_id) = 0", "pass", 0),
        ("raw_orders", "invalid_count(status) = 0", "pass", 0),
        ("stg_orders", "duplicate_count(customer_id) warn when > 0", "warn", 1),
    ]
    last = RunHistory(load_project(wap_project).state_dir).runs()[0]
    assert (last["command"], last["run_id"]) == ("check", report["run_id"])
    assert [s["name"] for s in last["steps"]] == ["customer_totals", "raw_orders", "stg_orders"]


def test_check_fails_quarantines_and_shows_failed_rows(
    published_bad_data: Path, duckpipe: Duckpipe
) -> None:
    root = published_bad_data
    code, out = duckpipe(root, "check")
    assert code == 1
    assert "FAILED: 2 passed, 1 warned, 3 failed; 4 rows quarantined" in out
    assert "missing_count(customer_id) = 0" in out

    code, out = duckpipe(
        root, "check", "--show-failed", "missing_count(customer_id) = 0", "--format", "json"
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["customer_id"], r["_dataset"]) for r in rows] == [(4, None, "raw_orders")]
    code, out = duckpipe(root, "check", "--show-failed", "invalid_count(status) = 0")
    assert code == 0 and "1 rows failed 'invalid_count(status) = 0'" in out and "lost" in out

    code, out = duckpipe(root, "check", "--show-failed", "missing_count(customer) = 0")
    assert code == 1
    assert "no quarantined rows for check 'missing_count(customer) = 0'" in out
    assert "did you mean 'missing_count(customer_id) = 0'" in out


def test_select_datasets_by_name_glob_or_source(
    published_bad_data: Path, duckpipe: Duckpipe
) -> None:
    project = load_project(published_bad_data)
    by_source = check_project(project, ("orders",))
    assert {r.dataset for r in by_source.results} == {"raw_orders"}
    by_glob = check_project(project, ("customer_*",))
    assert [(r.name, r.outcome) for r in by_glob.results][:2] == [
        ("row_count > 0", "pass"),
        ("min(total) >= 0", "fail"),
    ]
    code, out = duckpipe(published_bad_data, "check", "-s", "custmer_totals")
    assert code == 1
    assert "no checks for 'custmer_totals' (hint: did you mean 'customer_totals'?)" in out


def test_trend_follows_a_checks_value_over_runs(
    published_bad_data: Path, duckpipe: Duckpipe
) -> None:
    root = published_bad_data
    duckpipe(root, "check")
    write_orders(root, "3.csv", ["6,3,600,shipped"])
    duckpipe(root, "run")
    code, out = duckpipe(root, "check", "--trend", "min(total) >= 0", "--format", "json")
    assert code == 0
    points = json.loads(out)
    assert [(p["command"], p["outcome"], p["value"]) for p in points] == [
        ("check", "fail", -500.0),  # the bad rows published with --skip-checks
        ("run", "pass", 10.0),  # customer 3 fixed; the order without a customer remains
    ]


def test_check_before_any_run_says_there_is_no_data(wap_project: Path, duckpipe: Duckpipe) -> None:
    code, out = duckpipe(wap_project, "check")
    assert code == 0
    assert "raw_orders: no data yet: run `duckpipe run` first" in out


def test_a_broken_checks_file_is_one_red_line(wap_project: Path, duckpipe: Duckpipe) -> None:
    assert duckpipe(wap_project, "run")[0] == 0
    checks = wap_project / "checks" / "wap.yml"
    checks.write_text(checks.read_text().replace("min(total) >= 0", "min(totl) >= 0"))
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "duckpipe"), "-p", str(wap_project), "check"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: checks/wap.yml:12: unknown column 'totl' in dataset 'customer_totals' "
        "(hint: did you mean 'total'?)"
    )
