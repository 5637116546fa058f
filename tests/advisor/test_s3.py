"""The same lakes on the S3-compatible server: discovery, facts and findings through s3://."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from duckpipe.advisor import analyze_lake, load_prices
from tests.advisor.conftest import NO_MATERIALITY, only, totals
from tests.advisor.lakes import (
    delta_many_files,
    iceberg_catalog,
    iceberg_hourly,
    parquet_bytes,
    write_file,
)


@pytest.mark.s3
def test_a_lake_on_s3(s3_service, s3_bucket: str, tmp_path: Path) -> None:
    root = f"s3://{s3_bucket}/lake"
    options = s3_service.delta_storage_options()
    clicks = delta_many_files(
        f"{root}/clicks", 120, storage_options=options, s3=s3_service, batch=60
    )
    for v in range(6):
        write_deltalake(
            f"{root}/orders",
            pa.table({"id": pa.array(range(v * 10, v * 10 + 10), pa.int64())}),
            mode="overwrite",
            storage_options=options,
        )
    catalog = iceberg_catalog(
        f"{root}/wh", tmp_path / "catalog.db", s3_service.iceberg_properties()
    )
    events = iceberg_hourly(catalog, "events", hours=12, rows_per_hour=5)
    fs = s3_service.pyarrow_filesystem()
    raw_bytes = 0
    for day in range(3):
        data = parquet_bytes(day * 10, 10)
        write_file(fs, f"{s3_bucket}/lake/raw/day=2024-02-0{day + 1}/part-0.parquet", data)
        raw_bytes += len(data)

    prices = load_prices(
        (
            "test",
            {"thresholds": {**NO_MATERIALITY, "vacuum_retain_hours": 0, "min_excess_files": 10}},
        )
    )
    report = analyze_lake(root, prices=prices, storage_options=options)

    tables = {t.name: t for t in report.tables}
    assert {n: t.format for n, t in tables.items()} == {
        "clicks": "delta",
        "orders": "delta",
        "raw": "parquet",
        "wh/ns/events": "iceberg",
    }
    assert totals(tables["clicks"]) == ("delta", 120, clicks.bytes, clicks.rows)
    assert totals(tables["wh/ns/events"]) == ("iceberg", 12, events.bytes, events.rows)
    assert totals(tables["raw"]) == ("parquet", 3, raw_bytes, 30)
    small = only(report, "small_files", "clicks")
    assert small.evidence["files"] == 120 and small.evidence["small_bytes"] == clicks.bytes
    bloat = only(report, "version_bloat", "orders")
    assert bloat.evidence["versions"] == 6
    assert bloat.evidence["freeable_files"] == 5
    assert only(report, "over_partitioning", "wh/ns/events").evidence["partitions"] == 12
    assert report.path == root

    # the CLI reaches the same store with --storage-option
    args = [f"--storage-option={k}={v}" for k, v in options.items()]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "duckpipe",
            "cost-report",
            f"{root}/clicks",
            "--format",
            "json",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["tables"][0]["files"] == 120 and data["tables"][0]["bytes"] == clicks.bytes


@pytest.mark.s3
def test_a_missing_bucket_is_a_clear_error(s3_service) -> None:
    from duckpipe.core.errors import DuckpipeError

    with pytest.raises(DuckpipeError) as err:
        analyze_lake(
            "s3://no-such-bucket-here/lake", storage_options=s3_service.delta_storage_options()
        )
    assert "s3://no-such-bucket-here/lake" in str(err.value)
