"""The report's three outputs: JSON against its schema, the terminal text, and HTML in Chromium."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import jsonschema
import pytest

from duckpipe.advisor import Report, analyze_lake, load_prices, report_schema
from duckpipe.advisor.render import render
from tests.advisor.browser import render_dom, screenshot
from tests.advisor.lakes import (
    DAY_MS,
    delta_many_files,
    hive_parquet,
    iceberg_catalog,
    iceberg_hourly,
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """A lake of four tables: small files, hourly partitions, a hive folder, old data."""
    root = tmp_path_factory.mktemp("lake")
    delta_many_files(str(root / "clicks"), 300, batch=150)
    catalog = iceberg_catalog(f"file://{root}/warehouse", root.parent / "catalog.db")
    iceberg_hourly(catalog, "events", hours=24, rows_per_hour=10)
    hive_parquet(root / "raw", days=12, files_per_day=6)
    delta_many_files(
        str(root / "archive"),
        3,
        rows_per_file=100,
        pad=lambda _: 1000,
        modified_ms=int(time.time() * 1000) - 200 * DAY_MS,
    )
    prices = load_prices(("test", {"thresholds": {"min_monthly_usd": 0}}))
    return analyze_lake(str(root), prices=prices)


def test_json_validates_against_the_shipped_schema(report: Report) -> None:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads(render(report, "json"))
    jsonschema.Draft202012Validator(schema).validate(data)

    assert data["schema_version"] == "1"
    assert [t["name"] for t in data["tables"]] == [
        "archive",
        "clicks",
        "raw",
        "warehouse/ns/events",
    ]
    assert data["summary"]["tables"] == 4
    assert data["summary"]["files"] == 3 + 300 + 72 + 24
    assert data["summary"]["findings"] == len(data["findings"]) > 0
    assert sum(data["summary"]["by_severity"].values()) == len(data["findings"])
    tables = {t["name"]: t for t in data["tables"]}
    assert sum(b["files"] for b in tables["clicks"]["file_size_histogram"]) == 300
    assert tables["warehouse/ns/events"]["partitions"] == 24
    assert len(tables["warehouse/ns/events"]["partition_sizes"]) == 24
    assert tables["archive"]["age_tiers"]["cold"]["files"] == 3
    assert data["prices"]["sources"] == ["defaults: AWS S3 list prices, us-east-1", "test"]
    ranks = [("high", "medium", "low").index(f["severity"]) for f in data["findings"]]
    assert ranks == sorted(ranks)


def test_a_broken_report_fails_the_schema(report: Report) -> None:
    data = report.to_dict()
    data["findings"][0]["severity"] = "urgent"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, report_schema())


def test_terminal_report_has_summary_tables_findings_and_prices(report: Report) -> None:
    text = render(report, "table")
    assert text.startswith(f"duckpipe cost report for {report.path}")
    assert f"4 tables, {399:,} files" in text
    for name in ("archive", "clicks", "raw", "warehouse/ns/events"):
        assert name in text
    assert "duckpipe table optimize clicks --target-size 512MB" in text
    assert "lifecycle_tiering" in text and "over_partitioning" in text
    assert "prices used (defaults: AWS S3 list prices, us-east-1; test)" in text
    assert "standard $0.023" in text


def test_html_is_self_contained(report: Report) -> None:
    html = render(report, "html")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "@import" not in html and "url(" not in html
    for finding in report.findings:
        assert f'data-rule="{finding.rule}"' in html


def test_html_renders_its_charts_in_headless_chromium(report: Report, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render(report, "html"))

    dom = render_dom(page)

    charts = re.findall(r'<svg[^>]*data-chart="([a-z-]+)"', dom)
    assert charts.count("file-size-histogram") == 4
    assert charts.count("partition-sizes") == 2  # raw (by day) and events (by hour)
    assert charts.count("age-tiers") == 1
    assert len(re.findall(r'<rect class="bar"', dom)) >= 9 + 12 + 24
    assert 'id="summary"' in dom and "4 tables" in dom
    png = tmp_path / "report.png"
    screenshot(page, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
