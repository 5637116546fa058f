"""A writer killed with SIGKILL at random points never leaves data and position disagreeing."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from duckpipe.sinks import open_sink
from tests.sinks.writer import ROWS

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 6


def start_writer(
    fmt: str, lake: Path, table: str, commits: int, *extra: str, writer: str = "w"
) -> subprocess.Popen[str]:
    state = str(lake.parent / "state")
    argv = [
        sys.executable,
        "-m",
        "tests.sinks.writer",
        fmt,
        str(lake),
        state,
        table,
        writer,
        str(commits),
        *extra,
    ]
    return subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_first_commit(writer: subprocess.Popen[str], timeout: float = 120.0) -> None:
    """Block until the writer reports a commit (start-up time varies with machine load)."""
    import select

    assert writer.stdout is not None
    ready, _, _ = select.select([writer.stdout], [], [], timeout)
    assert ready, "the writer did not commit within the timeout"
    writer.stdout.readline()


def assert_consistent(fmt: str, lake: Path, table: str) -> int:
    """The committed batches are exactly 0..position, each complete; returns the position."""
    sink = open_sink(str(lake), format=fmt, state_dir=lake.parent / "state")
    position = sink.read_position(table, "w")
    if not sink.exists(table):
        assert position is None
        return -1
    data = sink.dataset(table).to_table()
    batches = data.group_by("batch").aggregate([("row", "count")]).to_pylist()
    counts = {b["batch"]: b["row_count"] for b in batches}
    last = position.value["batch"] if position else -1
    assert counts == {n: ROWS for n in range(last + 1)}, (position, counts)
    return int(last)


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_sigkill_at_random_points_keeps_data_and_position_in_agreement(
    tmp_path: Path, fmt: str
) -> None:
    lake = tmp_path / "lake"
    rng = random.Random(20240501)
    last = -1
    for _ in range(ROUNDS):
        writer = start_writer(fmt, lake, "events", 1000)
        wait_for_first_commit(writer)
        time.sleep(rng.uniform(0.0, 0.6))  # then it commits continuously: kill it anywhere
        writer.kill()
        writer.wait()
        now = assert_consistent(fmt, lake, "events")
        assert now >= last  # a restarted writer resumes after the stored position
        last = now
    assert last >= 3, "the writer should have committed several batches across the rounds"
    # a clean run afterwards continues exactly where the position says
    finished = start_writer(fmt, lake, "events", 2)
    out, err = finished.communicate(timeout=120)
    assert finished.returncode == 0, err
    assert out.split() == [str(last + 1), str(last + 2)]
    assert assert_consistent(fmt, lake, "events") == last + 2
