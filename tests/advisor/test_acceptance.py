"""Generated lakes with known problems each yield the expected finding, with exact numbers."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from duckpipe.advisor import analyze_lake
from duckpipe.advisor.prices import GiB
from tests.advisor.conftest import NO_MATERIALITY_PRICES, only, rules_of, totals
from tests.advisor.lakes import (
    DAY_MS,
    age_files,
    delta_many_files,
    delta_overwrites,
    hive_parquet,
    iceberg_catalog,
    iceberg_hourly,
    iceberg_written,
)

GET, LIST = 0.0004 / 1000, 0.005 / 1000  # default S3 Standard request prices


def test_delta_with_thousands_of_tiny_files(tmp_path: Path) -> None:
    written = delta_many_files(str(tmp_path / "clicks"), 2000, batch=500)

    report = analyze_lake(str(tmp_path / "clicks"), prices=NO_MATERIALITY_PRICES)

    assert rules_of(report) == [("small_files", "clicks")]
    f = only(report, "small_files")
    assert f.severity == "high"
    assert f.evidence["files"] == 2000
    assert f.evidence["small_files"] == 2000
    assert f.evidence["small_bytes"] == written.bytes
    assert f.evidence["total_bytes"] == written.bytes
    assert f.evidence["small_bytes_share"] == 1.0
    assert f.evidence["files_after_compaction"] == 1
    assert f.evidence["get_requests_saved_per_month"] == 30 * 1999 * 2
    assert f.monthly_usd == pytest.approx(30 * (1999 * 2 * GET + (2 - 1) * LIST))
    assert f.fix == "duckpipe table optimize clicks --target-size 512MB"
    assert totals(report.tables[0]) == ("delta", 2000, written.bytes, written.rows)
    assert report.tables[0].versions == 5  # create + 4 batches of 500


def test_iceberg_partitioned_by_hour_with_a_few_kb_per_partition(tmp_path: Path, prices) -> None:
    catalog = iceberg_catalog(f"file://{tmp_path}/wh", tmp_path / "catalog.db")
    written = iceberg_hourly(catalog, "events", hours=48, rows_per_hour=20)
    days = {}
    for key, size in written.partitions.items():
        days[key[: len("ts_hour=2024-01-01")]] = (
            days.get(key[: len("ts_hour=2024-01-01")], 0) + size
        )
    median = statistics.median(written.partitions.values())
    assert len(written.partitions) == 48 and max(written.partitions.values()) < 4096

    report = analyze_lake(str(tmp_path / "wh"), prices=prices())

    f = only(report, "over_partitioning", "ns/events")
    assert f.evidence["partitions"] == 48
    assert f.evidence["scheme"] == "hour(ts)"
    assert f.evidence["median_partition_bytes"] == int(median)
    assert f.evidence["partitions_below_guideline"] == 48
    # the whole table is far below 1 GB: the advice is not to partition it at all
    assert f.evidence["proposed_scheme"] == "none"
    assert f.evidence["proposed_partitions"] == 1
    assert f.evidence["proposed_median_partition_bytes"] == written.bytes
    assert f.evidence["files_after"] == 1
    assert f.monthly_usd == pytest.approx(30 * (47 * 2 * GET))

    # with a guideline one day of this table meets, the advice is hour -> day
    scaled = analyze_lake(
        str(tmp_path / "wh"), prices=prices(partition_min_bytes=min(days.values()))
    )
    f = only(scaled, "over_partitioning")
    assert f.evidence["proposed_scheme"] == "day(ts)"
    assert f.evidence["proposed_partitions"] == 2
    assert f.evidence["proposed_median_partition_bytes"] == int(statistics.median(days.values()))
    assert "partition_by: [day(ts)]" in f.fix


def test_one_giant_skewed_partition(tmp_path: Path, prices) -> None:
    countries = [f"c{i}" for i in range(9) for _ in range(1000)] + ["US"] * 100_000
    n = len(countries)
    table = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "amount": pa.array([(i * 7919) % 100_003 * 1.37 for i in range(n)], pa.float64()),
            "country": countries,
        }
    )
    write_deltalake(str(tmp_path / "sales"), table, partition_by=["country"])
    report = analyze_lake(str(tmp_path / "sales"), prices=prices(partition_min_bytes=10 * 1024))

    facts = report.tables[0]
    sizes = {p.key: p.bytes for p in facts.partitions()}
    assert rules_of(report) == [("partition_skew", "sales")]
    f = only(report, "partition_skew")
    assert f.evidence["partitions"] == 10
    assert f.evidence["largest_partition"] == "country=US"
    assert f.evidence["largest_partition_bytes"] == sizes["country=US"]
    assert f.evidence["largest_partition_rows"] == 100_000
    assert f.evidence["median_partition_bytes"] == int(statistics.median(sizes.values()))
    assert f.evidence["largest_share"] == round(sizes["country=US"] / sum(sizes.values()), 4)
    assert f.evidence["skew_ratio"] >= 10


def test_data_untouched_for_a_year_delta_log_times(tmp_path: Path, prices) -> None:
    year_ago = int(time.time() * 1000) - 400 * DAY_MS
    # four ~200 KB files and one below the 128 KB minimum object size of IA / Glacier IR
    written = delta_many_files(
        str(tmp_path / "archive"),
        5,
        rows_per_file=100,
        modified_ms=year_ago,
        pad=lambda i: 1000 if i < 4 else 0,
    )
    sizes = list(written.files.values())
    big = [s for s in sizes if s >= 128 * 1024]
    assert len(big) == 4

    report = analyze_lake(str(tmp_path / "archive"), prices=prices(min_monthly_usd=0))

    assert rules_of(report) == [("lifecycle_tiering", "archive")]
    f = only(report, "lifecycle_tiering")
    assert f.evidence["cold_files"] == 4
    assert f.evidence["cold_bytes"] == sum(big)
    assert f.evidence["warm_files"] == 0
    assert f.evidence["files_below_min_object_size"] == 1
    assert f.evidence["bytes_below_min_object_size"] == sum(sizes) - sum(big)
    assert f.evidence["cold_class"] == "glacier_ir"
    assert f.evidence["cold_after_days"] == 90
    assert f.evidence["age_source"] == "delta add.modificationTime"
    saving = sum(big) / GiB * (0.023 - 0.004)
    retrieval = sum(big) * 0.01 / GiB * 0.03
    assert f.monthly_usd == pytest.approx(saving - retrieval)
    assert f.evidence["transition_usd_once"] == round(4 * 0.02 / 1000, 4)
    assert '"StorageClass":"GLACIER_IR"' in f.fix and '"ObjectSizeGreaterThan":131071' in f.fix


def test_data_untouched_for_a_year_object_times(tmp_path: Path, prices) -> None:
    written = hive_parquet(
        tmp_path / "logs", days=3, files_per_day=1, rows=100, pad=lambda d: 1000 if d < 2 else 0
    )
    age_files(tmp_path / "logs", 365)

    report = analyze_lake(str(tmp_path / "logs"), prices=prices(min_monthly_usd=0))

    f = only(report, "lifecycle_tiering")
    eligible = [s for s in written.files.values() if s >= 128 * 1024]
    assert len(eligible) == 2
    assert f.evidence["cold_files"] == len(eligible)
    assert f.evidence["cold_bytes"] == sum(eligible)
    assert f.evidence["files_below_min_object_size"] == 3 - len(eligible)
    assert f.evidence["age_source"] == "object last-modified"
    # a week-old copy of the same data is hot: nothing to tier
    age_files(tmp_path / "logs", 7)
    assert rules_of(analyze_lake(str(tmp_path / "logs"), prices=prices(min_monthly_usd=0))) == []


def test_dozens_of_unexpired_delta_versions(tmp_path: Path, prices) -> None:
    path = tmp_path / "orders"
    written = delta_overwrites(str(path), versions=30)
    on_disk = {str(p.relative_to(path)): p.stat().st_size for p in path.rglob("*.parquet")}
    stale = {p: s for p, s in on_disk.items() if p not in written.files}
    assert len(stale) == 29

    report = analyze_lake(str(path), prices=prices(vacuum_retain_hours=0))

    f = only(report, "version_bloat")
    assert f.severity == "high"
    assert f.evidence["versions"] == 30
    assert f.evidence["live_bytes"] == written.bytes
    assert f.evidence["unreferenced_files"] == 29
    assert f.evidence["unreferenced_bytes"] == sum(stale.values())
    assert f.evidence["freeable_files"] == 29
    assert f.evidence["freeable_bytes"] == sum(stale.values())
    assert f.monthly_usd == pytest.approx(sum(stale.values()) / GiB * 0.023)
    assert f.fix == "duckpipe table vacuum orders --retention-hours 0 --force"

    # with the default week of retention nothing is freeable yet: no finding
    assert rules_of(analyze_lake(str(path), prices=prices())) == []


def test_dozens_of_unexpired_iceberg_snapshots(tmp_path: Path, prices) -> None:
    catalog = iceberg_catalog(f"file://{tmp_path}/wh", tmp_path / "catalog.db")
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    table = catalog.create_table(
        "ns.daily", schema=Schema(NestedField(1, "id", LongType(), required=False))
    )
    for v in range(24):
        rows = pa.table({"id": pa.array(range(v * 50, (v + 1) * 50), pa.int64())})
        table.append(rows) if v == 0 else table.overwrite(rows)
    written = iceberg_written(table)
    data = {
        str(p.relative_to(tmp_path / "wh/ns/daily")): p.stat().st_size
        for p in (tmp_path / "wh/ns/daily/data").rglob("*.parquet")
    }
    stale = {p: s for p, s in data.items() if p not in written.files}
    assert len(stale) == 23

    report = analyze_lake(str(tmp_path / "wh/ns/daily"), prices=prices(vacuum_retain_hours=0))

    f = only(report, "version_bloat")
    assert f.evidence["versions"] == len(table.metadata.snapshots)
    assert f.evidence["versions"] >= 24
    assert f.evidence["unreferenced_files"] == 23
    assert f.evidence["freeable_bytes"] == sum(stale.values())
    assert f.evidence["live_bytes"] == written.bytes


def test_hive_partitioned_parquet_folder(tmp_path: Path) -> None:
    written = hive_parquet(tmp_path / "raw" / "events", days=10, files_per_day=30)

    report = analyze_lake(str(tmp_path / "raw"), prices=NO_MATERIALITY_PRICES)

    assert rules_of(report) == [("over_partitioning", "events"), ("small_files", "events")]
    assert totals(report.tables[0]) == ("parquet", 300, written.bytes, written.rows)
    assert report.tables[0].scheme.describe() == "day"
    small = only(report, "small_files")
    assert small.severity == "medium"
    assert small.evidence["files"] == 300
    assert small.evidence["small_bytes"] == written.bytes
    assert small.evidence["files_after_compaction"] == 10
    assert small.fix.startswith("duckdb -c ")
    over = only(report, "over_partitioning")
    assert over.evidence["partitions"] == 10
    assert over.evidence["median_partition_bytes"] == int(
        statistics.median(written.partitions.values())
    )
    assert over.evidence["proposed_scheme"] == "none"


def test_healthy_tables_yield_no_finding(tmp_path: Path, prices) -> None:
    # one unpartitioned file, fresh, one version: healthy by the default thresholds
    write_deltalake(str(tmp_path / "lake" / "dim"), pa.table({"id": list(range(1000))}))
    assert analyze_lake(str(tmp_path / "lake")).findings == []

    # a partitioned table whose partitions and files meet (scaled) guidelines
    ids = pa.array(range(40_000), pa.int64())
    table = pa.table({"id": ids, "day": [f"2024-01-0{1 + i % 4}" for i in range(40_000)]})
    write_deltalake(str(tmp_path / "lake" / "facts"), table, partition_by=["day"])
    report = analyze_lake(
        str(tmp_path / "lake"),
        prices=prices(
            target_file_bytes=16 * 1024,
            small_file_bytes=4 * 1024,
            partition_min_bytes=16 * 1024,
            min_partitions=2,
        ),
    )
    assert [t.name for t in report.tables] == ["dim", "facts"]
    assert report.findings == []
