"""Two writers on one table: commits that can be retried are, the others fail clearly."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from duckpipe.core.errors import CommitConflict
from duckpipe.sinks import MergeSpec, Position, open_sink
from tests.sinks.test_crash import start_writer
from tests.sinks.writer import ROWS

COMMITS = 8


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_two_processes_append_to_one_table(tmp_path: Path, fmt: str) -> None:
    lake = tmp_path / "lake"
    open_sink(str(lake), format=fmt, state_dir=tmp_path / "state").create(
        "events",
        pa.schema(
            [
                ("writer", pa.string()),
                ("batch", pa.int64()),
                ("row", pa.int64()),
                ("part", pa.string()),
            ]
        ),
        partition_by=["part"],
    )
    procs = [start_writer(fmt, lake, "events", COMMITS, writer=w) for w in ("a", "b")]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    sink = open_sink(str(lake), format=fmt, state_dir=tmp_path / "state")
    data = sink.dataset("events").to_table()
    assert data.num_rows == 2 * COMMITS * ROWS
    for w in ("a", "b"):
        assert sink.read_position("events", w) == Position(w, {"batch": COMMITS - 1})


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_two_processes_overwriting_one_partition_retry_and_never_mix(
    tmp_path: Path, fmt: str
) -> None:
    lake = tmp_path / "lake"
    procs = [start_writer(fmt, lake, "events", COMMITS, "overwrite", writer=w) for w in ("a", "b")]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    sink = open_sink(str(lake), format=fmt, state_dir=tmp_path / "state")
    data = sink.dataset("events").to_table().to_pylist()
    # the partition holds exactly one complete batch of one writer, the last commit that won
    assert len(data) == ROWS
    assert len({(r["writer"], r["batch"]) for r in data}) == 1
    assert {r["batch"] for r in data} == {COMMITS - 1}


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
@pytest.mark.parametrize("mode", ["append", "merge"])
def test_a_rival_committing_as_the_same_writer_fails_this_write_without_retry(
    tmp_path: Path, fmt: str, mode: str
) -> None:
    def lake() -> object:
        return open_sink(str(tmp_path / "lake"), format=fmt, state_dir=tmp_path / "state")

    first = lake()
    first.write("t", pa.table({"id": [1]}), position=Position("source:x", {"n": 1}))  # type: ignore[attr-defined]
    rival = lake()

    def rival_commits() -> None:
        mine._before_commit = lambda: None  # type: ignore[attr-defined]
        rival.write("t", pa.table({"id": [2]}), position=Position("source:x", {"n": 2}))  # type: ignore[attr-defined]

    mine = lake()
    mine._before_commit = rival_commits  # type: ignore[attr-defined]
    merge = MergeSpec(keys=["id"]) if mode == "merge" else None
    with pytest.raises(CommitConflict, match="writer 'source:x'") as err:
        mine.write(
            "t",
            pa.table({"id": [3]}),
            mode=mode,
            merge=merge,
            position=Position("source:x", {"n": 3}),
        )  # type: ignore[attr-defined]
    assert err.value.retryable is False
    check = lake()
    assert check.read_position("t", "source:x") == Position("source:x", {"n": 2})  # type: ignore[attr-defined]
    assert sorted(check.dataset("t").to_table().column("id").to_pylist()) == [1, 2]  # type: ignore[attr-defined]


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_a_long_lived_sink_sees_what_another_one_committed_between_its_writes(
    tmp_path: Path, fmt: str
) -> None:
    def lake() -> object:
        return open_sink(str(tmp_path / "lake"), format=fmt, state_dir=tmp_path / "state")

    mine, other = lake(), lake()
    mine.write("t", pa.table({"id": [1]}), position=Position("stream:a", {"n": 1}))  # type: ignore[attr-defined]
    assert mine.read_position("t", "stream:a") == Position("stream:a", {"n": 1})  # type: ignore[attr-defined]
    other.write("t", pa.table({"id": [2]}), position=Position("stream:b", {"n": 7}))  # type: ignore[attr-defined]
    assert mine.read_position("t", "stream:b") == Position("stream:b", {"n": 7})  # type: ignore[attr-defined]
    mine.write("t", pa.table({"id": [3]}), position=Position("stream:a", {"n": 2}))  # type: ignore[attr-defined]
    check = lake()
    assert check.read_position("t", "stream:a") == Position("stream:a", {"n": 2})  # type: ignore[attr-defined]
    assert check.read_position("t", "stream:b") == Position("stream:b", {"n": 7})  # type: ignore[attr-defined]
    assert sorted(check.dataset("t").to_table().column("id").to_pylist()) == [1, 2, 3]  # type: ignore[attr-defined]


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_a_sink_reads_positions_right_after_its_own_commit_and_after_a_rival_one(
    tmp_path: Path, fmt: str
) -> None:
    def lake() -> object:
        return open_sink(str(tmp_path / "lake"), format=fmt, state_dir=tmp_path / "state")

    mine, other = lake(), lake()
    for n in (1, 2):  # a position read, then a commit: a stream's fence and its batch
        mine.read_position("t", "stream:a")  # type: ignore[attr-defined]
        mine.write("t", pa.table({"id": [n]}), position=Position("stream:a", {"n": n}))  # type: ignore[attr-defined]
        assert mine.read_position("t", "stream:a") == Position("stream:a", {"n": n})  # type: ignore[attr-defined]
    other.write("t", pa.table({"id": [7]}), position=Position("stream:b", {"n": 7}))  # type: ignore[attr-defined]
    mine.write("t", pa.table({"id": [3]}), position=Position("stream:a", {"n": 3}))  # type: ignore[attr-defined]
    assert mine.read_position("t", "stream:b") == Position("stream:b", {"n": 7})  # type: ignore[attr-defined]
    assert mine.read_position("t", "stream:a") == Position("stream:a", {"n": 3})  # type: ignore[attr-defined]
    assert lake().read_position("t", "stream:a") == Position("stream:a", {"n": 3})  # type: ignore[attr-defined]
