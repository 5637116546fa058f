"""``duckpipe query`` over lake tables: partition pruning (files actually opened) and --as-of."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from duckpipe.cli import main
from duckpipe.core.errors import SinkError
from duckpipe.project import load_project
from duckpipe.sinks.reads import trace_reads


def make_project(root: Path, fmt: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "duckpipe.yml").write_text(f"name: shop\nlake: ./lake\nformat: {fmt}\n")
    lake = load_project(root).open_lake()
    for day in ("2024-05-01", "2024-05-02", "2024-05-03"):
        data = pa.table({"id": [1, 2, 3], "day": [day] * 3, "amount": [1.0, 2.0, 3.0]})
        lake.write("orders", data, partition_by=["day"])
    return root


def query(root: Path, sql: str, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict]:
    main(["-p", str(root), "query", sql, "--format", "json", *extra])
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_partition_filter_in_query_opens_only_that_partitions_files(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path / "p", fmt)
    with trace_reads() as log:
        out = query(
            root,
            "select count(*) as n, sum(amount) as s from orders where day = '2024-05-02'",
            capsys,
        )
    assert out == [{"n": 3, "s": 6.0}]
    assert log.files and all("2024-05-02" in p for p in log.files)
    with trace_reads() as log:
        query(root, "select count(*) as n from orders", capsys)
    assert len(log.files) == 3


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_query_as_of_version_and_timestamp(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path / "p", fmt)
    lake = load_project(root).open_lake()
    first = lake.history("orders")[-1]
    assert query(root, "select count(*) as n from orders", capsys) == [{"n": 9}]
    assert query(
        root, "select count(*) as n from orders", capsys, "--as-of", str(first["version"])
    ) == [{"n": 3}]
    at = first["timestamp"]
    assert query(root, "select count(*) as n from orders", capsys, "--as-of", at) == [{"n": 3}]
    with pytest.raises(SinkError, match="no version"):
        main(["-p", str(root), "--debug", "query", "select * from orders", "--as-of", "999"])
    with pytest.raises(SinkError, match="version or a timestamp"):
        main(["-p", str(root), "--debug", "query", "select 1", "--as-of", "yesterday"])
