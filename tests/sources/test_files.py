"""Files source: formats, globs, increments, schema unification, S3."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from duckpipe.config import SourceConfig
from duckpipe.core.errors import ConfigError, SourceError
from duckpipe.sources import make_source
from duckpipe.sources.filesystems import glob_regex


def source(root: Path, uri: str, **cfg):
    return make_source("f", SourceConfig(uri=uri, **cfg), root)


def read(src, position=None) -> tuple[pa.Table, dict]:
    extraction = src.extract(src.plan(position))
    return extraction.reader.read_all(), extraction.next_position()


def test_parquet_csv_ndjson_and_json_arrays(tmp_path):
    pq.write_table(pa.table({"id": [1, 2], "x": ["a", "b"]}), tmp_path / "p.parquet")
    (tmp_path / "c.csv").write_text("id,x\n3,c\n")
    (tmp_path / "n.ndjson").write_text('{"id": 4, "x": "d"}\n{"id": 5, "x": "e"}\n')
    (tmp_path / "a.json").write_text(json.dumps([{"id": 6, "x": "f"}]))
    for name, ids in [("p.parquet", [1, 2]), ("c.csv", [3]), ("n.ndjson", [4, 5]), ("a.json", [6])]:
        table, _ = read(source(tmp_path, name))
        assert table.column("id").to_pylist() == ids, name
        assert table.schema.field("id").type == pa.int64()


def test_files_with_different_columns_and_types_read_into_one_schema(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "1.csv").write_text("id,amount\n1,10\n")
    (tmp_path / "d" / "2.csv").write_text("id,amount,note\n2,2.5,hi\n")
    (tmp_path / "d" / "3.csv").write_text("id,amount\nx3,1\n")
    table, position = read(source(tmp_path, "d/*.csv"))
    assert table.schema.field("amount").type == pa.float64()
    assert table.schema.field("id").type == pa.string()  # int and text: text keeps both
    assert table.to_pylist() == [
        {"id": "1", "amount": 10.0, "note": None},
        {"id": "2", "amount": 2.5, "note": "hi"},
        {"id": "x3", "amount": 1.0, "note": None},
    ]
    assert position["files"] == ["d/1.csv", "d/2.csv", "d/3.csv"]
    # each file also remembered by its fingerprint, so a rewrite under the same name is new
    assert {key: fp["size"] for key, fp in position["fingerprints"].items()} == {
        f"d/{name}": (tmp_path / "d" / name).stat().st_size for name in ("1.csv", "2.csv", "3.csv")
    }
    assert set(position) == {"files", "fingerprints"}


def test_only_new_files_are_read(tmp_path):
    (tmp_path / "a.csv").write_text("id\n1\n")
    src = source(tmp_path, "*.csv")
    _, position = read(src)
    (tmp_path / "b.csv").write_text("id\n2\n")
    plan = src.plan(position)
    assert plan.description == "1 new file(s) of 2"
    table, position = read(src, position)
    assert table.column("id").to_pylist() == [2]
    assert position["files"] == ["a.csv", "b.csv"]
    assert sorted(position["fingerprints"]) == ["a.csv", "b.csv"]
    assert src.plan(position).description == "0 new file(s) of 2"
    assert src.plan(position, full_refresh=True).description == "2 new file(s) of 2"


def test_contract_dtype_columns_are_read_as_text(tmp_path):
    (tmp_path / "c.csv").write_text("id,amount\n1,1.5\n2,oops\n")
    table, _ = read(source(tmp_path, "c.csv", contract={"dtypes": {"amount": "double"}}))
    assert table.column("amount").to_pylist() == ["1.5", "oops"]


def test_errors_name_the_source_and_the_fix(tmp_path):
    with pytest.raises(SourceError) as err:
        source(tmp_path, "missing/*.csv").plan(None)
    assert err.value.where == "sources.f.uri"
    (tmp_path / "x.xlsx").write_text("?")
    with pytest.raises(ConfigError, match="format: parquet, csv, json"):
        read(source(tmp_path, "x.xlsx"))
    (tmp_path / "broken.parquet").write_text("not parquet")
    with pytest.raises(SourceError, match=r"cannot read .*broken\.parquet"):
        read(source(tmp_path, "broken.parquet"))


def test_glob_patterns():
    assert glob_regex("b/data/*.csv").match("b/data/x.csv")
    assert not glob_regex("b/data/*.csv").match("b/data/sub/x.csv")
    assert glob_regex("b/data/**/*.csv").match("b/data/sub/deep/x.csv")
    assert glob_regex("b/data/**/*.csv").match("b/data/x.csv")
    assert glob_regex("b/day=2024-0?-01/*.parquet").match("b/day=2024-05-01/p.parquet")


@pytest.mark.s3
def test_s3_globs_with_storage_options(s3_service, s3_bucket, tmp_path):
    client = s3_service.client()
    client.put_object(Bucket=s3_bucket, Key="raw/2024/a.csv", Body=b"id,x\n1,a\n")
    client.put_object(Bucket=s3_bucket, Key="raw/2024/b.csv", Body=b"id,x\n2,b\n")
    client.put_object(Bucket=s3_bucket, Key="raw/2024/skip.txt", Body=b"?")
    client.put_object(Bucket=s3_bucket, Key="raw/2025/c.csv", Body=b"id,x\n3,c\n")
    src = make_source(
        "f",
        SourceConfig(uri=f"s3://{s3_bucket}/raw/**/*.csv"),
        tmp_path,
        storage_options=s3_service.delta_storage_options(),
    )
    table, position = read(src)
    assert sorted(table.column("id").to_pylist()) == [1, 2, 3]
    assert position["files"] == [
        f"s3://{s3_bucket}/raw/2024/a.csv",
        f"s3://{s3_bucket}/raw/2024/b.csv",
        f"s3://{s3_bucket}/raw/2025/c.csv",
    ]
    client.put_object(Bucket=s3_bucket, Key="raw/2025/d.csv", Body=b"id,x\n4,d\n")
    table, _ = read(src, position)
    assert table.column("id").to_pylist() == [4]
