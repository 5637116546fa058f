"""Following the report's fix command and re-running the report removes the finding."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from duckpipe.advisor import Finding, Prices, analyze_lake, load_prices
from duckpipe.project import load_project
from duckpipe.sinks import open_sink
from tests.advisor.conftest import NO_MATERIALITY, NO_MATERIALITY_PRICES, only, rules_of
from tests.advisor.lakes import hive_parquet

RETAIN_NOW = load_prices(
    ("test", {"thresholds": {**NO_MATERIALITY, "vacuum_retain_hours": 0, "min_excess_files": 20}})
)


def project(root: Path, fmt: str, models: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "duckpipe.yml").write_text(f"name: fixes\nlake: ./lake\nformat: {fmt}\n")
    (root / "models").mkdir(exist_ok=True)
    for name, sql in (models or {}).items():
        (root / "models" / f"{name}.sql").write_text(sql)
    return root


def lake_of(root: Path, fmt: str):  # type: ignore[no-untyped-def]
    return open_sink(str(root / "lake"), format=fmt, state_dir=root / ".duckpipe")


def follow(root: Path, finding: Finding) -> None:
    """Run the finding's `duckpipe ...` command in the project, as a user would."""
    argv = shlex.split(finding.fix)
    assert argv[0] == "duckpipe", finding.fix
    result = subprocess.run(
        [sys.executable, "-m", "duckpipe", "-p", str(root), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{finding.fix}\n{result.stdout}\n{result.stderr}"


def report(root: Path, prices: Prices = RETAIN_NOW):  # type: ignore[no-untyped-def]
    return analyze_lake(str(root / "lake"), prices=prices, project=load_project(root))


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_compaction_removes_the_small_files_finding(tmp_path: Path, fmt: str) -> None:
    root = project(tmp_path, fmt)
    lake = lake_of(root, fmt)
    for i in range(24):
        lake.write("clicks", pa.table({"id": pa.array(range(i * 10, i * 10 + 10), pa.int64())}))

    before = only(report(root), "small_files", "clicks")
    assert before.evidence["files"] == 24
    follow(root, before)

    after = report(root)
    assert ("small_files", "clicks") not in rules_of(after)
    assert after.tables[0].file_count == 1
    assert after.tables[0].total_rows == 240


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_vacuum_removes_the_version_bloat_finding(tmp_path: Path, fmt: str) -> None:
    root = project(tmp_path, fmt)
    lake = lake_of(root, fmt)
    for v in range(12):
        rows = pa.table({"id": pa.array(range(v * 100, (v + 1) * 100), pa.int64())})
        lake.write("orders", rows, mode="overwrite" if v else "append")

    before = only(report(root), "version_bloat", "orders")
    assert before.evidence["freeable_files"] == 11
    assert before.fix == "duckpipe table vacuum orders --retention-hours 0 --force"
    follow(root, before)

    after = report(root)
    assert ("version_bloat", "orders") not in rules_of(after)
    assert after.tables[0].unreferenced.bytes == 0
    assert after.tables[0].total_rows == 100


def test_zorder_removes_the_clustering_finding(tmp_path: Path) -> None:
    root = project(tmp_path, "delta", {"lookups": "select * from events where user_id = 7"})
    lake = lake_of(root, "delta")
    for i in range(12):
        users = [(i * 7919 + j * 104_729) % 5000 for j in range(300)]
        lake.write("events", pa.table({"user_id": pa.array(users, pa.int64())}))

    before = only(report(root), "clustering_candidate", "events")
    assert before.evidence["files_read_per_filter"] > 10
    assert before.fix == "duckpipe table zorder events --column user_id"
    follow(root, before)

    after = report(root)
    assert ("clustering_candidate", "events") not in rules_of(after)
    assert after.tables[0].clustering["user_id"] == 1.0


def test_the_duckdb_rewrite_of_a_parquet_folder_removes_its_findings(tmp_path: Path) -> None:
    written = hive_parquet(tmp_path / "raw" / "events", days=5, files_per_day=20)
    before = only(
        analyze_lake(str(tmp_path / "raw"), prices=NO_MATERIALITY_PRICES), "small_files", "events"
    )
    argv = shlex.split(before.fix)
    assert argv[:2] == ["duckdb", "-c"]
    duckdb.sql(argv[2])  # the command's SQL, through DuckDB's Python API

    rewritten = analyze_lake(
        str(tmp_path / "raw" / "events_rewritten"), prices=NO_MATERIALITY_PRICES
    )
    assert rules_of(rewritten) == []
    facts = rewritten.tables[0]
    assert facts.file_count == 5
    assert facts.total_rows == written.rows
    assert facts.scheme.describe() == "day"
