"""Output rows as derived-topic messages: keys, values, headers and the JSON encoding."""

from __future__ import annotations

import json
import math
import random
import struct
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from duckpipe.config import StreamConfig
from duckpipe.core.errors import ConfigError
from duckpipe.streaming.messages import encode, key_columns


def test_values_are_json_objects_with_iso_times_and_exact_decimals():
    rows = pa.table(
        {
            "user": ["u1", "u2"],
            "at": pa.array(
                [datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC), None],
                pa.timestamp("us", tz="UTC"),
            ),
            "local": pa.array([datetime(2024, 5, 1, 14, 30), None], pa.timestamp("ms")),
            "day": pa.array([date(2024, 5, 1), date(2024, 5, 2)], pa.date32()),
            "amount": pa.array([Decimal("12.50"), Decimal("-0.01")], pa.decimal128(10, 2)),
            "ratio": [float("nan"), 0.5],
            "blob": [b"\x00\x01", None],
        }
    )
    messages = encode(rows, key=["user"], sql=None, stream="s")
    assert [json.loads(m.key) for m in messages] == [{"user": "u1"}, {"user": "u2"}]
    assert json.loads(messages[0].value) == {
        "user": "u1",
        "at": "2024-05-01T12:00:00.250000Z",
        "local": "2024-05-01T14:30:00.000000",
        "day": "2024-05-01",
        "amount": "12.50",
        "ratio": None,
        "blob": "AAE=",
    }
    assert json.loads(messages[1].value)["at"] is None
    assert messages[1].headers == (("duckpipe.stream", b"s"),)


def test_kafka_columns_stay_out_unless_the_sql_names_them_and_become_headers():
    rows = pa.table(
        {
            "_topic": ["t"],
            "_partition": pa.array([1], pa.int32()),
            "_offset": [42],
            "_timestamp": pa.array([0], pa.timestamp("us", tz="UTC")),
            "id": [7],
        }
    )
    plain = encode(rows, key=[], sql=None, stream="s")[0]
    assert plain.key is None
    assert json.loads(plain.value) == {"id": 7}
    assert dict(plain.headers) == {
        "duckpipe.stream": b"s",
        "duckpipe.topic": b"t",
        "duckpipe.partition": b"1",
        "duckpipe.offset": b"42",
    }
    named = encode(rows, key=[], sql="select id, _offset from batch", stream="s")[0]
    assert json.loads(named.value) == {"_offset": 42, "id": 7}


def test_the_key_defaults_to_the_stream_key_plus_window_start():
    windowed = StreamConfig.model_validate(
        {"source": "s", "table": "t", "key": "user", "window": {"type": "tumbling", "size": "5s"}}
    )
    assert key_columns(windowed) == ["user", "window_start"]
    plain = StreamConfig.model_validate({"source": "s", "table": "t"})
    assert key_columns(plain) == []
    chosen = StreamConfig.model_validate({"source": "s", "table": "t", "topic_key": "id"})
    assert key_columns(chosen) == ["id"]


def test_a_key_column_missing_from_the_output_is_named():
    rows = pa.table({"n": [1]})
    with pytest.raises(ConfigError, match="key column 'user' is not in the stream's output") as e:
        encode(rows, key=["user"], sql=None, where="streams.s.topic")
    assert e.value.where == "streams.s.topic"
    assert "topic_key" in (e.value.hint or "")


def test_values_are_byte_exact_for_every_type_nested_or_not():
    struct_type = pa.struct([("at", pa.timestamp("us", tz="UTC")), ("tags", pa.list_(pa.string()))])
    rows = pa.table(
        {
            "naive": pa.array([datetime(2024, 5, 1, 14, 30, 0, 5)], pa.timestamp("ns")),
            "berlin": pa.array(
                [datetime(2024, 5, 1, 10, tzinfo=UTC)], pa.timestamp("s", tz="Europe/Berlin")
            ),
            "t": pa.array(
                [
                    time(12, 0),
                ],
                pa.time64("us"),
            ),
            "t2": pa.array([time(9, 5, 1, 250000)], pa.time64("us")),
            "dur": pa.array([timedelta(minutes=1, microseconds=500000)], pa.duration("us")),
            "dec": pa.array([Decimal("-0.01")], pa.decimal128(38, 2)),
            "small": pa.array([Decimal("0")], pa.decimal128(20, 10)),
            "ok": [True],
            "none": pa.array([None], pa.null()),
            "floats": pa.array(
                [[1e16, 1e-05, 100.0, float("nan"), None, -0.0]], pa.list_(pa.float64())
            ),
            "f32": pa.array([0.1], pa.float32()),
            "nested": pa.array(
                [{"at": datetime(2024, 5, 1, tzinfo=UTC), "tags": ["a", None, "ü"]}], struct_type
            ),
            "map": pa.array([[("k", 1), ("j", None)]], pa.map_(pa.string(), pa.int64())),
            "text": ['tab\t quote" back\\ nl\n \x1f \x0b \u2028 😀 /'],
            "escaped": ["\\u001F stays as typed"],
            "dict": pa.array(["x"]).dictionary_encode(),
            "bin": pa.array([b"\xff\x00"], pa.large_binary()),
        }
    )
    (message,) = encode(rows, key=["text"], sql=None)
    assert (
        message.value
        == (
            '{"naive":"2024-05-01T14:30:00.000005","berlin":"2024-05-01T10:00:00.000000Z",'
            '"t":"12:00:00","t2":"09:05:01.250000","dur":60.5,"dec":"-0.01","small":"0.0000000000",'
            '"ok":true,"none":null,"floats":[1e+16,1e-05,100.0,null,null,-0.0],'
            '"f32":0.10000000149011612,'
            '"nested":{"at":"2024-05-01T00:00:00.000000Z","tags":["a",null,"ü"]},'
            '"map":[["k",1],["j",null]],'
            '"text":"tab\\t quote\\" back\\\\ nl\\n \\u001f \\u000b \u2028 😀 /",'
            '"escaped":"\\\\u001F stays as typed","dict":"x","bin":"/wA="}'
        ).encode()
    )
    assert (
        message.key
        == '{"text":"tab\\t quote\\" back\\\\ nl\\n \\u001f \\u000b \u2028 😀 /"}'.encode()
    )
    assert json.loads(message.value)["text"] == rows.column("text")[0].as_py()


def test_an_interval_from_sql_is_written_as_seconds():
    import duckdb

    rows = duckdb.sql("select interval 90 second as took, interval 1 day as day").to_arrow_table()
    (message,) = encode(rows, key=[], sql=None)
    assert message.value == b'{"took":90.0,"day":86400.0}'


def test_numbers_and_text_read_as_pythons_json_writes_them():
    """DuckDB's doubles and JSON strings, checked against ``json.dumps`` on random values."""
    rng = random.Random(7)
    bits = [struct.unpack("d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(400)]
    scaled = [rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30) for _ in range(400)]
    edges = [0.0, 1e15, 1e16, 1e-4, 1e-5, 5e-324, 1.7976931348623157e308, 123456789012345678.0]
    floats = [f for f in bits + scaled + edges if math.isfinite(f)]
    texts = [
        "".join(
            chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0x2FFF)])) for _ in range(12)
        )
        for _ in range(400)
    ]
    rows = pa.table({"f": floats[:800], "s": (texts * 3)[:800]})
    for message, f, s in zip(encode(rows, key=[], sql=None), floats, texts * 3, strict=False):
        expected = json.dumps({"f": f, "s": s}, separators=(",", ":"), ensure_ascii=False)
        assert message.value == expected.encode()


def test_a_column_json_cannot_hold_is_named():
    rows = pa.table({"id": [1], "wide": pa.array([Decimal("1.5")], pa.decimal256(40, 2))})
    with pytest.raises(ConfigError, match="column 'wide' has type decimal256") as e:
        encode(rows, key=[], sql=None, where="streams.s.topic")
    assert "cast it in the stream's sql" in (e.value.hint or "")


def test_no_rows_no_messages():
    assert encode(pa.table({"id": pa.array([], pa.int64())}), key=["id"], sql=None) == []
