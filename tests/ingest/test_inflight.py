"""In-flight SQL (``sources.NAME.transform``): applied to every batch before landing."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from duckpipe.core.errors import ConfigError
from duckpipe.ingest.inflight import transformed
from duckpipe.project import load_project
from duckpipe.runner import run_project


def batches(*chunks: list[int]) -> pa.RecordBatchReader:
    schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
    return pa.RecordBatchReader.from_batches(
        schema,
        [pa.record_batch([c, [f" N{i} " for i in c]], schema=schema) for c in chunks],
    )


def test_each_batch_goes_through_the_sql_and_the_schema_is_known_before_the_first() -> None:
    reader = transformed(
        batches([1, 2, 3], [4, 5], [6]),
        "select id * 10 as id, lower(trim(name)) as name from batch where id % 2 = 0",
        source="s",
    )
    assert reader.schema == pa.schema([("id", pa.int64()), ("name", pa.string())])
    assert reader.read_all().to_pylist() == [
        {"id": 20, "name": "n2"},
        {"id": 40, "name": "n4"},
        {"id": 60, "name": "n6"},
    ]


def test_without_sql_the_reader_is_passed_on_untouched() -> None:
    reader = batches([1])
    assert transformed(reader, None, source="s") is reader


def test_a_broken_transform_names_the_source_and_the_columns_it_can_read() -> None:
    with pytest.raises(ConfigError) as err:
        transformed(batches([1]), "select idd from batch", source="orders")
    assert err.value.where == "sources.orders.transform"
    assert "columns id, name" in str(err.value.hint)


def test_a_run_with_a_broken_transform_fails_the_landing_and_lands_nothing(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("id,name\n1,a\n")
    (tmp_path / "duckpipe.yml").write_text(
        "sources:\n  orders:\n    uri: data.csv\n    transform: select nme from batch\n"
    )
    project = load_project(tmp_path)
    report = run_project(project)
    step = report.step("orders")
    assert step.status == "failed"
    assert "sources.orders.transform" in str(step.detail)
    assert not project.open_lake().exists("raw_orders")
