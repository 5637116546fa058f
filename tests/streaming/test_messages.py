"""Output rows as derived-topic messages: keys, values, headers and the JSON encoding."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from duckpipe.config import StreamConfig
from duckpipe.errors import ConfigError
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
    assert messages[1].headers == [("duckpipe.stream", b"s")]


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
