"""Parquet files with view-typed text columns (as delta-rs MERGE writes them) stay filterable."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from duckpipe.sinks import MergeSpec, open_sink
from duckpipe.sinks.reads import trace_reads, traced
from duckpipe.sinks.view_types import readable

DECLARED = pa.schema([("id", pa.int64()), ("name", pa.string()), ("tag", pa.binary())])


def folder_of_files(root: Path) -> pds.FileSystemDataset:
    """Two files as delta-rs MERGE writes them (view types) and one as a plain write does."""
    rows = pa.table({"id": [1, 2], "name": ["a", "b"], "tag": [b"x", b"y"]})
    views = pa.schema([("id", pa.int64()), ("name", pa.string_view()), ("tag", pa.binary_view())])
    pq.write_table(rows.cast(views), root / "merged-1.parquet")
    pq.write_table(rows.cast(views).slice(1), root / "merged-2.parquet")
    pq.write_table(pa.table({"id": [3], "name": ["c"], "tag": [b"z"]}), root / "plain.parquet")
    fs = pafs.SubTreeFileSystem(str(root), pafs.LocalFileSystem())
    fmt = pds.ParquetFileFormat()
    names = ["merged-1.parquet", "merged-2.parquet", "plain.parquet"]
    return pds.FileSystemDataset(
        [fmt.make_fragment(n, filesystem=fs) for n in names], DECLARED, fmt, fs
    )


def test_view_typed_files_filter_and_come_out_as_the_declared_types(tmp_path: Path) -> None:
    dataset = readable(folder_of_files(tmp_path), location=str(tmp_path))
    got = dataset.to_table(filter=pc.field("name") == "b")
    assert got.schema == DECLARED
    assert got.to_pylist() == [{"id": 2, "name": "b", "tag": b"y"}] * 2
    assert dataset.to_table(filter=pc.field("tag").isin([b"x", b"z"])).column("id").to_pylist() == [
        1,
        3,
    ]
    formats = {Path(f.path).name: f.format for f in dataset.get_fragments()}
    assert formats["merged-1.parquet"].read_options.dictionary_columns == {"name", "tag"}
    assert formats["plain.parquet"].read_options.dictionary_columns == set()


def test_each_footer_is_read_once_per_process(tmp_path: Path) -> None:
    with trace_reads() as log:
        readable(traced(folder_of_files(tmp_path)), location=str(tmp_path))
    assert len(log.files) == 3
    with trace_reads() as log:
        again = readable(traced(folder_of_files(tmp_path)), location=str(tmp_path))
    assert log.paths == []
    assert again.to_table(filter=pc.field("name") == "c").column("id").to_pylist() == [3]


def test_datasets_without_view_typed_files_are_returned_as_they_are(tmp_path: Path) -> None:
    numbers = pa.table({"id": [1, 2]})
    pq.write_table(numbers, tmp_path / "n.parquet")
    only_numbers = pds.dataset(str(tmp_path / "n.parquet"))
    assert readable(only_numbers, location="n") is only_numbers
    plain = pds.dataset(str(tmp_path / "n.parquet"), schema=DECLARED)
    assert readable(plain, location="p") is plain
    in_memory = pds.dataset(numbers)
    assert readable(in_memory, location="m") is in_memory


def test_rewrite_merge_on_text_keys_reads_files_a_library_merge_wrote(tmp_path: Path) -> None:
    lake = open_sink(str(tmp_path / "lake"), format="delta")
    accounts = pa.table({"code": ["a", "b", "c"], "region": ["eu", "eu", "us"], "n": [1, 2, 3]})
    lake.write("accounts", accounts, partition_by=["region"])
    library = MergeSpec(keys=["code"], strategy="library")
    lake.write(
        "accounts",
        accounts.slice(1, 1).set_column(2, "n", pa.array([20])),
        mode="merge",
        merge=library,
    )
    # keys without the partition column: the rewrite first looks the codes up in every file
    changes = pa.table({"code": ["b", "d"], "region": ["eu", "us"], "n": [200, 4]})
    result = lake.write("accounts", changes, mode="merge", merge=MergeSpec(keys=["code"]))
    assert result.metrics["strategy"] == "rewrite"
    assert (result.rows_updated, result.rows_inserted) == (1, 1)
    got = lake.dataset("accounts").to_table(filter=pc.field("code") >= "b")
    assert sorted(got.select(["code", "n"]).to_pylist(), key=lambda r: r["code"]) == [
        {"code": "b", "n": 200},
        {"code": "c", "n": 3},
        {"code": "d", "n": 4},
    ]


def test_a_missing_file_is_reported_by_the_scan_as_before(tmp_path: Path) -> None:
    files = folder_of_files(tmp_path)
    (tmp_path / "merged-2.parquet").unlink()
    dataset = readable(files, location=str(tmp_path))  # building the dataset does not fail
    with pytest.raises(FileNotFoundError, match="merged-2"):
        dataset.to_table()
