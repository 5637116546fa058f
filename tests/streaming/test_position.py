"""Stream positions, --from-offset parsing, micro-batch ordering and the DLQ's idempotence."""

from __future__ import annotations

import pyarrow as pa
import pytest

from duckpipe.core.errors import ConfigError
from duckpipe.ingest.dlq import after
from duckpipe.kafka.positions import parse_from_offsets
from duckpipe.sinks import open_sink
from duckpipe.streaming.batch import in_order
from duckpipe.streaming.dlq import StreamDeadLetters
from duckpipe.streaming.position import StreamPosition
from tests.streaming.helpers import raw


def test_position_round_trips_through_json_values():
    pos = StreamPosition(
        offsets={("a", 0): 5, ("a", 1): 7}, replay_from={("a", 0): 2}, watermark_us=9
    )
    value = pos.to_value()
    assert value == {
        "offsets": {"a": {"0": 5, "1": 7}},
        "replay_from": {"a": {"0": 2}},
        "watermark_us": 9,
    }
    assert StreamPosition.from_value(value) == pos
    assert StreamPosition.from_value(None) == StreamPosition()


def test_positions_never_move_backwards():
    pos = StreamPosition(offsets={("a", 0): 50, ("a", 1): 10})
    assert pos.advanced({("a", 0): 20, ("a", 1): 30, ("b", 0): 1}) == {
        ("a", 0): 50,
        ("a", 1): 30,
        ("b", 0): 1,
    }


def test_from_offset_forms():
    assert parse_from_offsets(("0:120", "1:7"), ["clicks"]) == {
        ("clicks", 0): 120,
        ("clicks", 1): 7,
    }
    assert parse_from_offsets(("my.topic:2:0",), ["a", "b"]) == {("my.topic", 2): 0}


@pytest.mark.parametrize("spec", ["0:x", "5", "0:-1", "1:2"])
def test_bad_from_offset_says_how_to_write_it(spec):
    topics = ["a", "b"] if spec == "1:2" else ["a"]
    with pytest.raises(ConfigError) as err:
        parse_from_offsets((spec,), topics)
    assert f"invalid --from-offset '{spec}'" in str(err.value)
    assert "PARTITION:OFFSET" in str(err.value)


def test_records_before_the_expected_offset_are_dropped():
    chunk = pa.concat_tables(
        [raw([{"i": i} for i in range(5)]), raw([{"i": 9}], partition=1, first_offset=3)]
    )
    expected = {("t", 0): 2}
    kept = in_order(chunk, expected)
    assert list(
        zip(kept.column("_partition").to_pylist(), kept.column("_offset").to_pylist(), strict=True)
    ) == [
        (0, 2),
        (0, 3),
        (0, 4),
        (1, 3),
    ]
    assert expected == {("t", 0): 5, ("t", 1): 4}


def test_a_chunk_without_old_records_is_kept_whole_and_a_fully_old_partition_moves_nothing():
    chunk = pa.concat_tables(
        [raw([{"i": i} for i in range(3)]), raw([{"i": 9}] * 2, partition=1, first_offset=7)]
    )
    expected = {("t", 0): 0}
    assert in_order(chunk, expected) is chunk  # no copy when nothing is dropped
    assert expected == {("t", 0): 3, ("t", 1): 9}
    expected = {("t", 0): 3, ("t", 1): 20}
    assert in_order(chunk, expected).num_rows == 0
    assert expected == {("t", 0): 3, ("t", 1): 20}


def test_after_keeps_only_rows_not_yet_recorded():
    rows = pa.concat_tables([raw([b"x"] * 4), raw([b"y"] * 2, partition=1)])
    kept = after(rows, {("t", 0): 2})
    assert kept.column("_offset").to_pylist() == [2, 3, 0, 1]
    assert after(rows, {}).num_rows == 6


def rejects(offsets: list[int]) -> pa.Table:
    records = raw([b"bad"] * (max(offsets) + 1))
    records = records.take(offsets)
    return records.append_column(
        "_reason", pa.array(["the value is not valid JSON"] * len(offsets))
    )


def test_dead_letters_are_written_once_per_offset():
    sink = open_sink("memory://dlq-once")
    dead = StreamDeadLetters(sink, "clicks")
    dead.resume()
    assert dead.write(rejects([1, 3]), {("t", 0): 4}, "run-1") == 2
    again = StreamDeadLetters(sink, "clicks")  # a restart re-reads the same batch
    again.resume()
    assert again.recorded == {("t", 0): 4}
    assert again.write(rejects([1, 3, 5]), {("t", 0): 6}, "run-2") == 1
    stored = sink.dataset("_dlq/clicks").to_table().sort_by("_offset").to_pylist()
    assert [r["dlq_id"] for r in stored] == ["t:0:1", "t:0:3", "t:0:5"]
    assert stored[0]["reason"] == "the value is not valid JSON"
    assert stored[0]["raw"] == "bad" and stored[0]["_value"] == b"bad"
    assert stored[0]["source"] == "clicks" and stored[2]["run_id"] == "run-2"
    found = again.offsets_in({("t", 0): (2, 6)})
    assert found.column("_offset").to_pylist() == [3, 5]


def test_offset_ranges_of_interleaved_runs_and_of_several_topics():
    from duckpipe.streaming.batch import offset_ranges

    runs = pa.concat_tables(
        [
            raw([b"a"] * 3, partition=1, first_offset=10),
            raw([b"b"] * 2, partition=0, first_offset=4),
            raw([b"c"] * 2, partition=1, first_offset=13),
            raw([b"d"], partition=0, first_offset=2),  # a seek back: lower than the run before
        ]
    )
    assert sorted(offset_ranges(runs)) == [("t", 0, 2, 5), ("t", 1, 10, 14)]
    two_topics = pa.concat_tables([runs, raw([b"e"] * 2, topic="u", partition=1, first_offset=0)])
    assert sorted(offset_ranges(two_topics)) == [
        ("t", 0, 2, 5),
        ("t", 1, 10, 14),
        ("u", 1, 0, 1),
    ]
