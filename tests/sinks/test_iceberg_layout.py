"""Iceberg partition transforms, sort orders, and the PostgreSQL catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from duckpipe.config import CatalogConfig
from duckpipe.core.errors import SinkError
from duckpipe.sinks import MergeSpec, Position, open_sink
from duckpipe.sinks.partitioning import parse_partition
from duckpipe.sinks.reads import trace_reads


def events(n: int = 48) -> pa.Table:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "ts": pa.array(
                [start + timedelta(hours=h) for h in range(n)], pa.timestamp("us", tz="UTC")
            ),
            "country": [["DE", "FR", "US"][i % 3] for i in range(n)],
            "name": [f"user-{i:03d}" for i in range(n)],
        }
    )


@pytest.mark.parametrize(
    ("spec", "files"),
    [
        (["country"], 3),
        (["day(ts)"], 2),
        (["month(ts)"], 1),
        (["hour(ts)"], 48),
        (["bucket(4, id)"], 4),
        (["truncate(10, id)"], 5),
        (["day(ts)", "country"], 6),
    ],
)
def test_partition_transforms_split_files_and_keep_rows(
    tmp_path: Path, spec: list[str], files: int
) -> None:
    lake = open_sink(str(tmp_path / "lake"), format="iceberg", state_dir=tmp_path / "state")
    lake.write("events", events(), partition_by=spec)
    info = lake.describe("events")
    assert info.partition_by == spec and info.num_files == files and info.num_rows == 48
    assert sorted(lake.dataset("events").to_table().column("id").to_pylist()) == list(range(48))


def test_day_partition_filter_prunes_by_the_files_bounds(tmp_path: Path) -> None:
    lake = open_sink(str(tmp_path / "lake"), format="iceberg", state_dir=tmp_path / "state")
    lake.write("events", events(), partition_by=["day(ts)"])
    with trace_reads() as log:
        got = lake.dataset("events").to_table(
            filter=pc.field("ts") >= pa.scalar(datetime(2024, 5, 2, tzinfo=UTC))
        )
    assert got.num_rows == 24 and len(log.files) == 1


def test_sort_order_is_kept_by_every_write(tmp_path: Path) -> None:
    lake = open_sink(str(tmp_path / "lake"), format="iceberg", state_dir=tmp_path / "state")
    data = events().take(pa.array([5, 1, 9, 3]))
    lake.write("events", data, sort_by=["name desc"])
    lake.write(
        "events", events().take(pa.array([2, 7])), mode="merge", merge=MergeSpec(keys=["id"])
    )
    assert lake.describe("events").sort_by == ["name desc"]
    fragments = list(lake.dataset("events").get_fragments())
    for fragment in fragments:
        names = fragment.to_table().column("name").to_pylist()
        assert names == sorted(names, reverse=True)


def test_bad_specs_are_clear(tmp_path: Path) -> None:
    lake = open_sink(str(tmp_path / "lake"), format="iceberg", state_dir=tmp_path / "state")
    with pytest.raises(SinkError, match="cannot read the partition spec"):
        parse_partition("week(ts)")
    with pytest.raises(SinkError, match="column 'tss' does not exist") as err:
        lake.write("events", events(), partition_by=["day(tss)"])
    assert err.value.hint == "did you mean 'ts'?"
    delta = open_sink(str(tmp_path / "delta"))
    with pytest.raises(SinkError, match="Delta tables partition by plain columns"):
        delta.write("events", events(), partition_by=["day(ts)"])


@pytest.mark.postgres
def test_postgresql_catalog(tmp_path: Path, postgres_service: object) -> None:
    uri = postgres_service.uri  # type: ignore[attr-defined]
    catalog = CatalogConfig(uri=uri, namespace="shop")
    lake = open_sink(str(tmp_path / "lake"), format="iceberg", catalog=catalog)
    lake.write(
        "events", events(), partition_by=["country"], position=Position("source:events", {"n": 1})
    )
    again = open_sink(str(tmp_path / "lake"), format="iceberg", catalog=catalog)
    assert again.tables() == ["events"]
    assert again.read_position("events", "source:events") == Position("source:events", {"n": 1})
    assert again.dataset("events").to_table().num_rows == 48
    # the SQLite default does not see it: the catalog really is PostgreSQL
    local = open_sink(str(tmp_path / "lake"), format="iceberg", state_dir=tmp_path / "state")
    assert local.tables() == []
