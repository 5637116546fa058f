"""Compaction of a table with thousands of small files: files near the target, same contents."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from duckpipe.sinks import Sink, open_sink

ROWS = {"delta": 1_100_000, "iceberg": 400_000}  # delta-rs writes at least ~1k rows a file
TARGET = 1_000_000


def small_file_table(fmt: str, root: Path) -> Sink:
    """A table of ROWS rows in two partitions, written as thousands of small files."""

    n = ROWS[fmt]
    ids = np.arange(n)
    data = pa.table(
        {
            "id": ids,
            "part": np.where(ids % 2 == 0, "a", "b"),
            "v": np.random.default_rng(7).random(n),
            "name": pa.array([f"customer-{i % 5000}" for i in range(n)]),
        }
    )
    sink = open_sink(str(root / "lake"), format=fmt, state_dir=root / "state")
    if fmt == "delta":
        from deltalake import WriterProperties, write_deltalake

        props = WriterProperties(max_row_group_size=100, write_batch_size=100)
        write_deltalake(  # type: ignore[call-overload]
            sink.uri("t"),
            data,
            partition_by=["part"],
            target_file_size=1024,
            writer_properties=props,
        )
    else:
        sink.create("t", data.schema, partition_by=["part"])
        tbl = sink._load("t")  # type: ignore[attr-defined]
        with tbl.transaction() as txn:
            txn.set_properties({"write.target-file-size-bytes": "6000"})
        sink._load("t").append(data)  # type: ignore[attr-defined]
    return sink


def checksum(sink: Sink) -> tuple[int, int]:
    con = duckdb.connect()
    con.register("t", sink.dataset("t"))
    row = con.execute("select count(*), sum(hash(id, part, v, name)) from t").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_compaction_of_thousands_of_small_files(tmp_path: Path, fmt: str) -> None:
    sink = small_file_table(fmt, tmp_path)
    before = sink.describe("t")
    assert before.num_files >= 1000
    expected = checksum(sink)
    result = sink.compact("t", target_size=TARGET)
    after = sink.describe("t")
    assert result.files_removed == before.num_files
    assert after.num_files == result.files_added <= before.num_files // 10
    assert checksum(sink) == expected == (ROWS[fmt], expected[1])
    assert after.partition_by == ["part"]
    sizes = sorted(
        f.filesystem.get_file_info(f.path).size for f in sink.dataset("t").get_fragments()
    )
    # every file but the last of each partition is near the target
    assert all(0.5 * TARGET <= s <= 1.5 * TARGET for s in sizes[2:]), sizes
    again = sink.compact("t", target_size=TARGET)
    assert again.files_removed <= 2  # idempotent but for the two partition tails
