"""Discovery and facts: one listing finds every table; facts come from metadata only."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import write_deltalake

from duckpipe.advisor import analyze_lake, load_prices
from duckpipe.advisor.discover import discover
from duckpipe.advisor.storage import open_location
from tests.advisor.conftest import totals
from tests.advisor.lakes import (
    DAY_MS,
    delta_many_files,
    hive_parquet,
    iceberg_catalog,
    iceberg_hourly,
)


def test_discovery_finds_each_format_and_ignores_hidden_files(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    write_deltalake(str(root / "sales" / "orders"), pa.table({"id": [1, 2]}))
    catalog = iceberg_catalog(f"file://{root}/wh", tmp_path / "c.db")
    iceberg_hourly(catalog, "events", hours=2, rows_per_hour=3)
    hive_parquet(root / "raw" / "clicks", days=2, files_per_day=2)
    pq.write_table(pa.table({"x": [1]}), root / "loose.parquet")
    (root / ".duckpipe").mkdir()
    pq.write_table(pa.table({"x": [1]}), root / ".duckpipe" / "cache.parquet")
    (root / "raw" / "clicks" / "_SUCCESS").write_text("")

    location = open_location(str(root))
    refs = discover(location, location.list_files())

    assert [(r.name, r.format) for r in refs] == [
        ("lake", "parquet"),
        ("raw/clicks", "parquet"),
        ("sales/orders", "delta"),
        ("wh/ns/events", "iceberg"),
    ]
    by_name = {r.name: r for r in refs}
    assert sorted(o.path for o in by_name["raw/clicks"].objects if o.path.endswith(".parquet")) == [
        "day=2024-01-01/part-000.parquet",
        "day=2024-01-01/part-001.parquet",
        "day=2024-01-02/part-000.parquet",
        "day=2024-01-02/part-001.parquet",
    ]
    assert all(o.path.startswith(("_delta_log/", "part-")) for o in by_name["sales/orders"].objects)
    assert by_name["lake"].objects[0].path == "loose.parquet"


def test_delta_facts_come_from_the_log(tmp_path: Path) -> None:
    stamp = int(time.time() * 1000) - 3 * DAY_MS
    written = delta_many_files(
        str(tmp_path / "t"), 12, rows_per_file=7, partitions=["a", "b", "c"], modified_ms=stamp
    )
    facts = analyze_lake(str(tmp_path / "t")).tables[0]
    assert facts.scheme.describe() == "part"
    assert facts.columns == ("id", "value", "note", "part")
    assert totals(facts) == ("delta", 12, written.bytes, 84)
    assert {p.key: p.bytes for p in facts.partitions()} == written.partitions
    assert {f.modified for f in facts.files} == {stamp / 1000}
    assert facts.age_source == "delta add.modificationTime"
    assert facts.row_groups.files_sampled == 12 and facts.row_groups.row_groups == 12


def test_iceberg_facts_come_from_the_manifests(tmp_path: Path) -> None:
    catalog = iceberg_catalog(f"file://{tmp_path}/wh", tmp_path / "c.db")
    written = iceberg_hourly(catalog, "events", hours=5, rows_per_hour=4)
    table = catalog.load_table("ns.events")
    facts = analyze_lake(str(tmp_path / "wh" / "ns" / "events")).tables[0]
    assert facts.scheme.describe() == "hour(ts)"
    assert facts.scheme.source_columns == ("ts",)
    assert totals(facts) == ("iceberg", 5, written.bytes, 20)
    assert {p.key for p in facts.partitions()} == {f"ts_hour=2024-01-01-{h:02d}" for h in range(5)}
    committed = table.current_snapshot().timestamp_ms / 1000
    assert {f.modified for f in facts.files} == {committed}
    assert facts.age_source == "iceberg snapshot commit time"
    assert facts.versions == 1


def test_parquet_rows_from_footers_or_estimated_beyond_the_limit(tmp_path: Path) -> None:
    written = hive_parquet(tmp_path / "p", days=4, files_per_day=5, rows=30)
    full = analyze_lake(str(tmp_path / "p")).tables[0]
    assert (full.total_rows, full.rows_estimated) == (600, False)
    prices = load_prices(("t", {"thresholds": {"parquet_footer_limit": 5, "footer_sample": 4}}))
    sampled = analyze_lake(str(tmp_path / "p"), prices=prices).tables[0]
    assert sampled.rows_estimated is True
    assert sampled.row_groups.files_sampled == 4
    assert sampled.total_rows is not None and abs(sampled.total_rows - 600) <= 30
    assert sampled.total_bytes == written.bytes


def test_an_unreadable_table_is_skipped_with_a_warning(tmp_path: Path) -> None:
    write_deltalake(str(tmp_path / "lake" / "good"), pa.table({"id": [1]}))
    broken = tmp_path / "lake" / "broken" / "_delta_log"
    broken.mkdir(parents=True)
    (broken / "00000000000000000000.json").write_text("{not json")

    report = analyze_lake(str(tmp_path / "lake"))

    assert [t.name for t in report.tables] == ["good"]
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith("table broken skipped: ")
    assert str(tmp_path / "lake" / "broken") in report.warnings[0]


def test_the_project_catalog_names_the_current_iceberg_metadata(tmp_path: Path) -> None:
    from duckpipe.project import load_project
    from duckpipe.sinks import open_sink

    (tmp_path / "duckpipe.yml").write_text("name: ice\nlake: ./lake\nformat: iceberg\n")
    lake = open_sink(str(tmp_path / "lake"), format="iceberg", state_dir=tmp_path / ".duckpipe")
    lake.write("orders", pa.table({"id": pa.array([1, 2, 3], pa.int64())}))
    # a newer metadata file a failed commit left behind: only the catalog knows it is not current
    (tmp_path / "lake" / "orders" / "metadata" / "99999-stray.metadata.json").write_text("{")

    without = analyze_lake(str(tmp_path / "lake"))
    assert without.tables == [] and "table orders skipped" in without.warnings[0]

    report = analyze_lake(str(tmp_path / "lake"), project=load_project(tmp_path))
    assert [(t.name, t.format, t.total_rows) for t in report.tables] == [("orders", "iceberg", 3)]
    assert report.warnings == ()


def test_progress_is_reported_per_table(tmp_path: Path) -> None:
    from collections.abc import Iterator
    from contextlib import contextmanager

    from duckpipe.core.console import Console, Progress

    class Recorder(Console):
        def __init__(self) -> None:
            self.bars: list[tuple[str, int | None, list[str]]] = []

        @contextmanager
        def progress(self, description: str, total: int | None = None) -> Iterator[Progress]:
            steps: list[str] = []
            self.bars.append((description, total, steps))

            class Step(Progress):
                def advance(self, n: int = 1, **fields: object) -> None:
                    steps.append(str(fields.get("rate", "")))

            yield Step()

    for name in ("a", "b", "c"):
        write_deltalake(str(tmp_path / name), pa.table({"id": [1]}))
    console = Recorder()
    analyze_lake(str(tmp_path), console=console)
    assert console.bars[0][0] == f"listing {tmp_path}"
    assert console.bars[1] == ("reading table metadata", 3, ["a", "b", "c"])
