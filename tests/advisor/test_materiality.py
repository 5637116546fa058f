"""Materiality (savings too small to act on are counted, not listed), short run histories,
and the paths cost-report cannot analyse."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from duckpipe.advisor import analyze_lake, load_prices, report_schema
from duckpipe.project import load_project
from tests.advisor.conftest import NO_MATERIALITY_PRICES, rules_of
from tests.advisor.lakes import delta_many_files
from tests.advisor.test_usage import _history, _project


def cost_report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "duckpipe", "cost-report", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_a_saving_of_cents_is_counted_below_materiality_not_listed(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    delta_many_files(str(lake / "clicks"), 600, batch=600)
    assert len(DeltaTable(str(lake / "clicks")).file_uris()) == 600

    # the rule does fire: 600 files, but compaction saves cents a month
    listed = analyze_lake(str(lake), prices=NO_MATERIALITY_PRICES)
    assert rules_of(listed) == [("small_files", "clicks")]
    saving = listed.findings[0].monthly_usd
    assert 0 < saving < 1

    report = analyze_lake(str(lake))
    assert report.findings == []
    assert report.below_materiality == 1
    assert report.materiality_usd == 1.0  # $1 beats 1% of a kilobyte lake's cost

    data = json.loads(cost_report(str(lake), "--format", "json").stdout)
    jsonschema.validate(data, report_schema())
    assert data["findings"] == []
    below = data["summary"]["below_materiality"]
    assert below["findings"] == 1
    assert (below["min_monthly_usd"], below["min_monthly_share"]) == (1.0, 0.01)
    text = cost_report(str(lake))
    assert text.returncode == 0, text.stderr
    assert "1 findings below materiality ($1.00/month, 1%)" in text.stdout
    page = tmp_path / "r.html"
    assert cost_report(str(lake), "--format", "html", "-o", str(page)).returncode == 0
    assert "1 findings below materiality ($1.00/month, 1%)" in page.read_text()


def test_the_share_of_the_lakes_cost_raises_the_floor(tmp_path: Path) -> None:
    delta_many_files(str(tmp_path / "clicks"), 600, batch=600)
    # storage priced so that the lake costs far more than the compaction saves
    dear = {"storage_classes": {"standard": {"gb_month": 1_000_000.0}}}

    def report(share: float):  # type: ignore[no-untyped-def]
        thresholds = {"min_monthly_usd": 0, "min_monthly_share": share}
        prices = load_prices(("test", {**dear, "thresholds": thresholds}))
        return analyze_lake(str(tmp_path / "clicks"), prices=prices)

    kept, dropped = report(0.0), report(0.5)
    assert rules_of(kept) == [("small_files", "clicks")]
    assert dropped.findings == [] and dropped.below_materiality == 1
    actions = pa.table(
        DeltaTable(str(tmp_path / "clicks")).get_add_actions(flatten=True)
    ).to_pylist()
    lake_bytes = sum(a["size_bytes"] for a in actions)
    assert dropped.lake_monthly_usd == pytest.approx(lake_bytes / 1024**3 * 1_000_000.0)
    assert dropped.materiality_usd == pytest.approx(0.5 * dropped.lake_monthly_usd)
    assert kept.findings[0].monthly_usd < dropped.materiality_usd


def test_five_runs_in_a_minute_are_not_extrapolated_to_a_month(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop", "select 1 as x")
    write_deltalake(str(root / "lake" / "orders"), pa.table({"id": [1, 2, 3]}))
    now = datetime.now(UTC)
    _history(root, [(now - timedelta(seconds=60 - 12 * i), 5) for i in range(5)])

    report = analyze_lake(
        str(root / "lake"), prices=NO_MATERIALITY_PRICES, project=load_project(root)
    )

    assert rules_of(report) == []
    warning = next(w for w in report.warnings if w.startswith("no usage extrapolated"))
    assert "(5 runs)" in warning and "minutes" in warning
    assert "at least 7 days" in warning and "thresholds.min_history_days" in warning

    # the same runs after a week of recorded history are a history
    _history(
        root,
        [(now - timedelta(days=8), 5)]
        + [(now - timedelta(seconds=60 - 12 * i), 5) for i in range(5)],
    )
    aged = analyze_lake(
        str(root / "lake"), prices=NO_MATERIALITY_PRICES, project=load_project(root)
    )
    assert rules_of(aged) == [("compute_batch_spot", None)]
    assert aged.findings[0].evidence["runs_per_month"] == 6
    assert not any(w.startswith("no usage extrapolated") for w in aged.warnings)
    # and with the default materiality its $0.0004 a month is not a finding
    assert analyze_lake(str(root / "lake"), project=load_project(root)).below_materiality == 1


def test_a_missing_path_and_a_folder_without_tables_exit_2(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("not a lake\n")
    for path, says in ((tmp_path / "nope", "no such folder"), (tmp_path / "docs", "no Delta")):
        result = cost_report(str(path))
        assert result.returncode == 2, result.stderr
        (line,) = errors(result)
        assert str(path) in line and says in line and "hint: pass the lake root" in line
        assert result.stdout == ""


def test_a_corrupt_table_alone_exits_2_and_among_healthy_ones_is_named(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    write_deltalake(str(lake / "good"), pa.table({"id": [1, 2, 3]}))
    write_deltalake(str(lake / "bad"), pa.table({"id": [4]}))
    (lake / "bad" / "_delta_log" / "00000000000000000000.json").write_text("garbage\n")

    alone = cost_report(str(lake / "bad"))
    assert alone.returncode == 2, alone.stderr
    (line,) = errors(alone)
    assert str(lake / "bad") in line and "cannot read the Delta log" in line
    assert "restored from a backup or the table rewritten" in line

    mixed = cost_report(str(lake), "--format", "json")
    assert mixed.returncode == 0, mixed.stderr
    data = json.loads(mixed.stdout)
    assert [t["name"] for t in data["tables"]] == ["good"]
    actions = pa.table(DeltaTable(str(lake / "good")).get_add_actions(flatten=True)).to_pylist()
    assert data["tables"][0]["rows"] == sum(a["num_records"] for a in actions) == 3
    (warning,) = data["warnings"]
    assert warning.startswith("table bad skipped: ") and str(lake / "bad") in warning
    assert "\n" not in warning  # the kernel's backtrace is not part of the message
