"""JSON payloads -> typed columns; every message that does not fit is rejected with a reason."""

from __future__ import annotations

import pytest

from duckpipe.config import ContractConfig
from duckpipe.core.errors import ConfigError
from duckpipe.engine import Engine
from duckpipe.kafka.decode import JsonDecoder, duckdb_type
from tests.streaming.helpers import raw


@pytest.fixture
def engine():
    eng = Engine()
    eng.execute("set TimeZone = 'UTC'")
    yield eng
    eng.close()


def reasons(decoded) -> dict[int, str]:
    return {r["_offset"]: r["_reason"] for r in decoded.rejects.to_pylist()}


def test_fields_become_typed_columns_with_kafka_metadata(engine):
    records = raw(
        [{"id": 1, "user": "a", "amount": 2.5, "tags": ["x"], "geo": {"lat": 1.5}}, {"id": 2}],
        partition=3,
        first_offset=40,
    )
    decoded = JsonDecoder(engine, ContractConfig()).decode(records)
    rows = decoded.rows.to_pylist()
    assert [r["id"] for r in rows] == [1, 2]
    assert rows[0]["user"] == "a" and rows[1]["user"] is None
    assert rows[0]["tags"] == ["x"] and rows[0]["geo"] == {"lat": 1.5}
    assert [(r["_partition"], r["_offset"], r["_key"]) for r in rows] == [
        (3, 40, b"40"),
        (3, 41, b"41"),
    ]
    assert rows[0]["_headers"] == [{"key": "origin", "value": b"test"}]
    assert rows[0]["_value"] == records.column("_value")[0].as_py()
    assert decoded.rows.schema.field("id").type == "int64"
    assert decoded.rejects.num_rows == 0


def test_undecodable_messages_are_rejected_with_the_reason(engine):
    records = raw([{"id": 1}, b"not json", b"[1, 2]", b"\xff\xfe", None, b"", b'"text"'])
    decoded = JsonDecoder(engine, ContractConfig()).decode(records)
    assert decoded.rows.column("_offset").to_pylist() == [0]
    assert reasons(decoded) == {
        1: "the value is not valid JSON",
        2: "the JSON value is array, not an object",
        3: "the value is not UTF-8 text",
        4: "the message has no value",
        5: "the value is not valid JSON",
        6: "the JSON value is varchar, not an object",
    }
    kept = {r["_offset"]: r["_value"] for r in decoded.rejects.to_pylist()}
    assert kept[3] == b"\xff\xfe"


def test_contract_required_not_null_and_types(engine):
    contract = ContractConfig(
        required_fields=["id"], not_null=["user"], dtypes={"id": "int64", "at": "timestamp"}
    )
    records = raw(
        [
            {"id": 1, "user": "a", "at": "2024-05-01T10:00:00Z"},
            {"user": "b"},
            {"id": 3, "user": None},
            {"id": "x", "user": "c"},
            {"id": 4.5, "user": "d"},
            {"id": 5, "user": "e", "at": "not a time"},
            {"id": 6, "user": "f", "at": None},
        ]
    )
    decoded = JsonDecoder(engine, contract).decode(records)
    assert decoded.rows.column("id").to_pylist() == [1, 6]
    assert str(decoded.rows.schema.field("at").type) == "timestamp[us, tz=UTC]"
    assert reasons(decoded) == {
        1: "required field 'id' is missing",
        2: "field 'user' is null",
        3: "field 'id' is not BIGINT: \"x\"",
        4: "field 'id' is not BIGINT: 4.5",
        5: "field 'at' is not TIMESTAMPTZ: \"not a time\"",
    }


def test_known_types_hold_across_batches_and_new_fields_evolve(engine):
    decoder = JsonDecoder(engine, ContractConfig(), known={"amount": "DOUBLE"})
    first = decoder.decode(raw([{"amount": 3, "n": 1}]))
    assert first.rows.schema.field("amount").type == "double"
    assert first.new_fields == ["n"]
    second = decoder.decode(raw([{"amount": 1.5, "n": 2, "extra": True}, {"n": "zz"}]))
    assert second.rows.to_pylist()[0]["extra"] is True
    assert reasons(second) == {1: "field 'n' is not BIGINT: \"zz\""}
    assert decoder.known == {"amount": "DOUBLE", "n": "BIGINT", "extra": "BOOLEAN"}


def test_a_field_seen_only_as_null_gets_its_type_later(engine):
    decoder = JsonDecoder(engine, ContractConfig())
    decoder.decode(raw([{"a": None}]))
    assert "a" not in decoder.known
    later = decoder.decode(raw([{"a": "x"}]))
    assert later.rows.column("a").to_pylist() == ["x"]


def test_mixed_types_in_one_batch_become_text(engine):
    decoded = JsonDecoder(engine, ContractConfig()).decode(
        raw([{"v": 1}, {"v": "a"}, {"v": {"k": 1}}])
    )
    assert decoded.rows.column("v").to_pylist() == ["1", "a", '{"k":1}']


def test_schema_freeze_rejects_unexpected_fields(engine):
    contract = ContractConfig(dtypes={"id": "int64"}, schema_policy="freeze")
    decoder = JsonDecoder(engine, contract)
    decoded = decoder.decode(raw([{"id": 1}, {"id": 2, "surprise": 1}]))
    assert decoded.rows.column("id").to_pylist() == [1]
    assert reasons(decoded) == {1: "unexpected field surprise (schema_policy: freeze)"}
    assert decoded.rows.column_names[-1] == "id"


def test_schema_discard_drops_unknown_fields(engine):
    contract = ContractConfig(dtypes={"id": "int64"}, schema_policy="discard")
    decoded = JsonDecoder(engine, contract).decode(raw([{"id": 1, "other": "x"}]))
    assert "other" not in decoded.rows.column_names
    assert decoded.rows.column("id").to_pylist() == [1]


def test_first_batch_defines_the_schema_when_nothing_is_declared(engine):
    decoder = JsonDecoder(engine, ContractConfig(schema_policy="freeze"))
    decoder.decode(raw([{"id": 1}]))
    later = decoder.decode(raw([{"id": 2, "new": 1}]))
    assert reasons(later) == {0: "unexpected field new (schema_policy: freeze)"}


def test_unknown_contract_dtype_names_the_field(engine):
    with pytest.raises(ConfigError) as err:
        JsonDecoder(engine, ContractConfig(dtypes={"id": "integr"}), where="sources.clicks")
    assert "sources.clicks: contract.dtypes.id" in str(err.value)
    assert "int64" in str(err.value)


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("int64", "BIGINT"),
        ("String", "VARCHAR"),
        ("timestamp", "TIMESTAMPTZ"),
        ("decimal(10,2)", "DECIMAL(10,2)"),
    ],
)
def test_dtype_aliases(alias, expected):
    assert duckdb_type(alias) == expected


def test_the_fast_path_gives_what_the_checked_path_gives(engine):
    known = {
        "id": "BIGINT",
        "name": "VARCHAR",
        "amount": "DOUBLE",
        "at": "TIMESTAMPTZ",
        "tags": "VARCHAR[]",
    }
    clean = raw(
        [
            {"id": i, "name": f"n{i}", "amount": i / 3, "at": "2024-05-01T10:00:00Z", "tags": ["a"]}
            for i in range(50)
        ]
        + [{"id": 99, "amount": 3, "at": None}]
    )
    fast = JsonDecoder(engine, ContractConfig(), known=known)
    checked = JsonDecoder(engine, ContractConfig(), known=known)
    checked._fast = lambda raw: None  # type: ignore[method-assign]
    assert fast._fast(clean) is not None
    assert fast.decode(clean).rows.equals(checked.decode(clean).rows)
    dirty = raw(
        [{"id": 1, "amount": 2.5}, {"id": 2.5}, {"id": 3, "name": {"x": 1}}, {"id": 4, "new": 1}]
    )
    assert fast._fast(dirty) is None  # one bad value, a new field: the checked path decides
    got = fast.decode(dirty)
    assert got.rows.column("id").to_pylist() == [1, 3, 4]
    assert got.rows.column("name").to_pylist() == [None, '{"x":1}', None]
    assert reasons(got) == {1: "field 'id' is not BIGINT: 2.5"}


def test_broken_messages_that_add_up_to_whole_objects_are_rejected_one_by_one(engine):
    # Joined line by line, `{"a":` + `{"b":1}}` is one object and the third message is
    # two: three messages, three rows, yet only the last message is a JSON object.
    broken = [b'{"a":', b'{"b":1}}', b'{"a":{"b":2}}{"a":{"b":3}}']
    good = [{"a": {"b": i}} for i in range(4, 7)]
    decoder = JsonDecoder(engine, ContractConfig(), known={"a": "STRUCT(b BIGINT)"})
    decoded = decoder.decode(raw([*broken, *good]))
    assert decoded.rows.column("_offset").to_pylist() == [3, 4, 5]
    assert decoded.rows.column("a").to_pylist() == [g["a"] for g in good]
    assert reasons(decoded) == {
        0: "the value is not valid JSON",
        1: "the value is not valid JSON",
        2: "the value is not valid JSON",
    }


def test_a_large_first_batch_learns_its_fields_from_a_sample_then_reads_fast(engine):
    from duckpipe.kafka.decode import SAMPLE_ROWS

    values = [{"id": i, "user": f"u{i % 7}", "amount": i / 4} for i in range(SAMPLE_ROWS * 3)]
    values[-1]["amount"] = 2  # an integer in a float field: still DOUBLE, as the sample said
    sampled = JsonDecoder(engine, ContractConfig())
    checked = JsonDecoder(engine, ContractConfig())
    checked._fast_after_sample = lambda raw: None  # type: ignore[method-assign]
    fast_calls = []
    read = sampled._fast
    sampled._fast = lambda raw: fast_calls.append(raw.num_rows) or read(raw)  # type: ignore[method-assign]
    got, want = sampled.decode(raw(values)), checked.decode(raw(values))
    assert got.rows.equals(want.rows)
    assert got.new_fields == want.new_fields == ["id", "user", "amount"]
    assert sampled.known == checked.known == {"id": "BIGINT", "user": "VARCHAR", "amount": "DOUBLE"}
    assert fast_calls == [SAMPLE_ROWS * 3, SAMPLE_ROWS * 3]  # the second one succeeded


@pytest.mark.parametrize(
    "late",
    [{"id": 1, "user": "x", "amount": 1.5, "extra": True}, {"id": 1.5, "user": "x", "amount": 1}],
    ids=["a field the sample did not show", "a float where the sample showed integers"],
)
def test_when_the_sample_misleads_the_whole_batch_decides_the_types(engine, late):
    from duckpipe.kafka.decode import SAMPLE_ROWS

    values = [{"id": i, "user": "u", "amount": i / 4} for i in range(SAMPLE_ROWS * 2)]
    values.append(late)
    sampled = JsonDecoder(engine, ContractConfig())
    checked = JsonDecoder(engine, ContractConfig())
    checked._fast_after_sample = lambda raw: None  # type: ignore[method-assign]
    got, want = sampled.decode(raw(values)), checked.decode(raw(values))
    assert got.rows.equals(want.rows) and reasons(got) == reasons(want) == {}
    assert sampled.known == checked.known
    assert sampled.known["id"] == ("DOUBLE" if late["id"] == 1.5 else "BIGINT")


@pytest.mark.parametrize("kind", ["binary", "large_binary"])
def test_the_brace_check_reads_each_value_of_a_sliced_chunk(kind):
    import pyarrow as pa

    from duckpipe.kafka.fastjson import _braced

    values = pa.array([b"x", b"{}", b'{"a":1}', b"{", b"", b"}"], getattr(pa, kind)())
    assert _braced(values.slice(1, 2))
    assert not _braced(values.slice(0, 2))  # starts with x
    assert not _braced(values.slice(2, 2))  # ends with {
    assert not _braced(values.slice(1, 4))  # an empty value
    assert not _braced(values.slice(5, 1))  # only }
    assert _braced(values.slice(0, 0))
