import json
import uuid

import pyarrow as pa

from duckpipe.ingest.contracts import COLUMN, REASON
from duckpipe.ingest.dlq import (
    DeadLetters,
    dlq_schema,
    dlq_sources,
    dlq_table,
    read_dead_letters,
    write_dead_letters,
)
from duckpipe.sinks import open_sink


def rejected(ids, reasons):
    return pa.table(
        {
            "id": ids,
            "payload": pa.array([b"\x00\x01"] * len(ids), pa.binary()),
            REASON: reasons,
            COLUMN: ["id"] * len(ids),
        }
    )


def test_records_hold_reason_column_source_run_time_and_raw_json():
    letters = DeadLetters("orders", "run-1")
    letters.add(rejected([7, None], ["bad id", "null id"]))
    records = letters.table()
    assert records.schema == dlq_schema()
    rows = records.to_pylist()
    assert [r["reason"] for r in rows] == ["bad id", "null id"]
    assert {r["source"] for r in rows} == {"orders"}
    assert {r["run_id"] for r in rows} == {"run-1"}
    assert all(r["failed_at"].tzinfo is not None for r in rows)
    assert json.loads(rows[0]["raw"]) == {"id": 7, "payload": "\\x00\\x01"}
    assert json.loads(rows[1]["raw"])["id"] is None
    assert letters.summary() == "2 row(s): 1 x bad id; 1 x null id"


def test_the_same_rejected_row_is_stored_once():
    lake = open_sink(f"memory://{uuid.uuid4().hex}")
    first = DeadLetters("orders", "run-1")
    first.add(rejected([1, 2], ["x", "x"]))
    again = DeadLetters("orders", "run-2")  # a rerun re-extracts the same rows
    again.add(rejected([2, 3, 3], ["x", "x", "x"]))
    write_dead_letters(lake, dlq_table("orders"), first.table())
    write_dead_letters(lake, dlq_table("orders"), again.table())
    stored = read_dead_letters(lake, "orders")
    assert sorted(json.loads(r)["id"] for r in stored.column("raw").to_pylist()) == [1, 2, 3]
    assert dlq_sources(lake) == ["orders"]


def test_no_dead_letters_reads_as_an_empty_table():
    lake = open_sink(f"memory://{uuid.uuid4().hex}")
    assert read_dead_letters(lake, "orders").num_rows == 0
    assert write_dead_letters(lake, dlq_table("orders"), dlq_schema().empty_table()) is None
    assert dlq_sources(lake) == []
