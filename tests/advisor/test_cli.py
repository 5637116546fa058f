"""``duckpipe cost-report``: formats, output files, prices, --fail-on and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from duckpipe.advisor import report_schema
from tests.advisor.lakes import delta_many_files

DUCKPIPE = [sys.executable, "-m", "duckpipe"]


def cost_report(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DUCKPIPE, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "lake"
    delta_many_files(str(root / "clicks"), 1200, batch=600)
    write_deltalake(str(root / "dim"), pa.table({"id": list(range(100))}))
    # a kilobyte lake saves cents: materiality off, so the rule's finding shows
    (root.parent / "no-materiality.yml").write_text(
        "thresholds: {min_monthly_usd: 0, min_monthly_share: 0}\n"
    )
    return root


def kb(lake: Path) -> tuple[str, str]:
    return ("--prices", str(lake.parent / "no-materiality.yml"))


def test_json_to_a_file_validates(lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = cost_report(
        "cost-report", str(lake), *kb(lake), "--format", "json", "--output", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote the json report to {out}: 1 findings" in result.stderr
    data = json.loads(out.read_text())
    jsonschema.validate(data, report_schema())
    assert [(f["rule"], f["table"], f["severity"]) for f in data["findings"]] == [
        ("small_files", "clicks", "high")
    ]
    assert data["findings"][0]["evidence"]["files"] == 1200


def test_terminal_and_html_outputs(lake: Path, tmp_path: Path) -> None:
    text = cost_report("cost-report", str(lake), *kb(lake))
    assert text.returncode == 0, text.stderr
    assert "2 tables, 1,201 files" in text.stdout
    assert "duckpipe table optimize clicks --target-size 512MB" in text.stdout
    page = tmp_path / "r.html"
    html = cost_report("cost-report", str(lake), *kb(lake), "--format", "html", "-o", str(page))
    assert html.returncode == 0, html.stderr
    assert page.read_text().count('data-chart="file-size-histogram"') == 2


def test_fail_on_exits_non_zero_only_at_or_above_the_level(lake: Path) -> None:
    failing = cost_report(
        "cost-report", str(lake), *kb(lake), "--fail-on", "high", "--format", "json"
    )
    assert failing.returncode == 3
    assert "1 finding(s) of severity high or worse" in failing.stderr
    assert json.loads(failing.stdout)["summary"]["by_severity"]["high"] == 1
    healthy = cost_report("cost-report", str(lake / "dim"), "--fail-on", "low")
    assert healthy.returncode == 0, healthy.stderr


def test_prices_file_overrides_and_is_named(lake: Path, tmp_path: Path) -> None:
    prices = tmp_path / "prices.yml"
    prices.write_text(
        "region: eu-central-1\n"
        "storage_classes:\n  standard: {get_per_1000: 0.0043}\n"
        "thresholds: {target_file_bytes: 1048576, scans_per_month: 300}\n"
    )
    result = cost_report("cost-report", str(lake), "--format", "json", "--prices", str(prices))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["prices"]["sources"][-1] == str(prices)
    assert data["prices"]["region"] == "eu-central-1"
    assert data["prices"]["storage_classes"]["standard"]["get_per_1000"] == 0.0043
    assert data["prices"]["storage_classes"]["standard"]["gb_month"] == 0.023  # kept
    finding = data["findings"][0]
    assert finding["evidence"]["target_file_bytes"] == 1048576
    assert finding["evidence"]["scans_per_month"] == 300
    after = finding["evidence"]["files_after_compaction"]
    expected = 300 * ((1200 - after) * 2 * 0.0043 / 1000 + (2 - 1) * 0.005 / 1000)
    assert finding["monthly_usd"] == pytest.approx(expected, abs=1e-4)
    assert "--target-size 1MB" in finding["fix"]


def test_project_prices_and_default_path(tmp_path: Path) -> None:
    (tmp_path / "duckpipe.yml").write_text(
        "name: shop\nlake: ./lake\nprices:\n  thresholds:\n    min_excess_files: 5\n"
        "    min_monthly_usd: 0\n    min_monthly_share: 0\n"
    )
    delta_many_files(str(tmp_path / "lake" / "orders"), 8)
    result = cost_report("-p", str(tmp_path), "cost-report", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["project"] == "shop"
    assert data["path"] == str(tmp_path / "lake")
    assert data["prices"]["sources"][-1] == f"{tmp_path / 'duckpipe.yml'} prices:"
    # within a severity the larger money comes first
    assert [(f["rule"], f["severity"]) for f in data["findings"]] == [
        ("compute_batch_spot", "low"),  # no run history: an always-on VM is assumed
        ("small_files", "low"),
    ]
    assert data["findings"][0]["monthly_usd"] == pytest.approx(730 * 0.1008 * 0.7)
    # fixes name the project, so they can be pasted where the report was run
    assert data["findings"][1]["fix"] == (
        f"duckpipe -p {tmp_path} table optimize orders --target-size 512MB"
    )


def test_errors_are_one_line_with_a_hint(tmp_path: Path) -> None:
    bad = tmp_path / "prices.yml"
    bad.write_text("thresholds: {target_fle_bytes: 10}\n")
    (tmp_path / "lake").mkdir()
    write_deltalake(str(tmp_path / "lake" / "t"), pa.table({"id": [1]}))

    typo = cost_report("cost-report", str(tmp_path / "lake"), "--prices", str(bad))
    assert typo.returncode == 2
    assert typo.stderr.strip() == (
        f"error: {bad}: unknown price key 'thresholds.target_fle_bytes' "
        "(hint: did you mean 'target_file_bytes' or 'max_file_bytes' or 'small_file_bytes'?)"
    )
    missing = cost_report("cost-report", cwd=tmp_path)
    assert missing.returncode == 2
    assert "no PATH given and no duckpipe.yml here" in missing.stderr
    empty = cost_report("cost-report", str(tmp_path / "lake" / "t" / "_delta_log" / "nothing"))
    assert empty.returncode == 2 and "no such folder" in empty.stderr
    (tmp_path / "void").mkdir()
    nothing = cost_report("cost-report", str(tmp_path / "void"))
    assert nothing.returncode == 2
    assert "no Delta, Iceberg or Parquet tables found" in nothing.stderr
    option = cost_report("cost-report", str(tmp_path / "lake"), "--storage-option", "nokey")
    assert option.returncode == 2 and "KEY=VALUE" in option.stderr


def test_listed_in_help() -> None:
    result = cost_report("--help")
    assert "cost-report" in result.stdout
