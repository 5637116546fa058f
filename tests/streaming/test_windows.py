"""Event-time windows: results equal a direct GROUP BY, late events go to the DLQ, restarts are exact."""

from __future__ import annotations

import random
from collections import Counter

import pyarrow as pa
import pytest

from duckpipe.config import WindowConfig
from duckpipe.core.errors import ConfigError
from duckpipe.engine import Engine
from duckpipe.streaming.windows import Windower

SQL = "select user, window_start, window_end, count(*) as n, sum(v) as total from windowed group by all"
WINDOWS = {
    "tumbling": WindowConfig(type="tumbling", size=10, time_column="ts", allowed_lateness=2),
    "hopping": WindowConfig(type="hopping", size=10, slide=5, time_column="ts", allowed_lateness=2),
    "session": WindowConfig(type="session", gap=4, time_column="ts", allowed_lateness=2),
}


def events(
    times_s: list[float], *, users: list[str] | None = None, first_offset: int = 0
) -> pa.Table:
    """Decoded rows (Kafka metadata + payload) with event time ``ts`` in epoch ms."""
    n = len(times_s)
    users = users or [f"u{i % 3}" for i in range(n)]
    offsets = list(range(first_offset, first_offset + n))
    return pa.table(
        {
            "_topic": ["t"] * n,
            "_partition": pa.array([0] * n, pa.int32()),
            "_offset": pa.array(offsets, pa.int64()),
            "_timestamp": pa.array([0] * n, pa.timestamp("us", tz="UTC")),
            "_key": pa.array([None] * n, pa.binary()),
            "_headers": pa.array(
                [None] * n, pa.list_(pa.struct([("key", pa.string()), ("value", pa.binary())]))
            ),
            "_value": pa.array([b"{}"] * n, pa.binary()),
            "user": users,
            "v": offsets,
            "ts": [int(t * 1000) for t in times_s],
        }
    )


def windower(engine: Engine, kind: str, mode: str = "append") -> Windower:
    return Windower(engine, WINDOWS[kind], key=["user"], sql=SQL, mode=mode, where="streams.s")


def run(w: Windower, table: pa.Table) -> tuple[list[dict], list[int]]:
    timed, bad = w.event_times(table)
    assert bad.num_rows == 0
    step = w.step(timed)
    return step.output.to_pylist(), step.late.column("_offset").to_pylist()


def canon(rows: list[dict]) -> Counter:
    return Counter(
        (r["user"], r["window_start"], r["window_end"], r["n"], int(r["total"])) for r in rows
    )


def reference(engine: Engine, kind: str, table: pa.Table, up_to_us: int) -> Counter:
    """Windows computed in one go over all events, those ending at or before ``up_to_us``."""
    w = windower(Engine(), kind)
    timed, _ = w.event_times(table)
    w.restore(timed, None)  # everything in the buffer, nothing emitted
    w.watermark = up_to_us
    w._assign()
    output, _ = w._emit(f"_we <= {up_to_us}")
    return canon(output.to_pylist())


@pytest.mark.parametrize("kind", sorted(WINDOWS))
def test_in_order_events_equal_a_direct_group_by(kind):
    engine = Engine()
    times = [i * 0.7 + (20 if i >= 30 else 0) for i in range(60)]  # a pause closes sessions
    table = events(times)
    w = windower(engine, kind)
    emitted: list[dict] = []
    for start in range(0, 60, 7):
        out, late = run(w, table.slice(start, 7))
        emitted += out
        assert late == []
    assert w.watermark == int((times[-1] - 2) * 1_000_000)
    assert canon(emitted) == reference(engine, kind, table, w.watermark)
    assert sum(r["n"] for r in emitted) > 0


def test_tumbling_windows_emit_once_when_the_watermark_passes_their_end():
    engine = Engine()
    w = windower(engine, "tumbling")
    out, _ = run(w, events([1, 2, 11], users=["a", "a", "a"]))
    assert out == []  # W = 9: window [0, 10) still open
    out, _ = run(w, events([13], users=["a"], first_offset=3))
    assert [(r["n"], r["total"]) for r in out] == [(2, 1)]  # W = 11 closes [0, 10)
    assert out[0]["window_start"].timestamp() == 0 and out[0]["window_end"].timestamp() == 10
    out, _ = run(w, events([14], users=["a"], first_offset=4))
    assert out == []


def test_late_events_go_to_the_dlq_with_the_reason():
    engine = Engine()
    w = windower(engine, "tumbling")
    run(w, events([20], users=["a"]))  # W = 18
    timed, _ = w.event_times(events([17.9, 18, 25], users=["a", "a", "a"], first_offset=1))
    step = w.step(timed)
    late = step.late.to_pylist()
    assert [r["_offset"] for r in late] == [1]
    assert late[0]["_reason"].startswith("late event: event time 1970-01-01 00:00:17.9")
    assert "allowed lateness 2s" in late[0]["_reason"]
    assert late[0]["_value"] == b"{}"


def test_hopping_windows_overlap():
    engine = Engine()
    w = windower(engine, "hopping")
    out, _ = run(w, events([7, 40], users=["a", "a"]))
    starts = sorted((r["window_start"].timestamp(), r["n"]) for r in out)
    assert starts == [(0, 1), (5, 1)]  # 7s lies in [0, 10) and [5, 15)


def test_sessions_split_on_gaps_per_key():
    engine = Engine()
    w = windower(engine, "session")
    out, _ = run(w, events([0, 1, 3, 10, 2, 30], users=["a", "a", "a", "a", "b", "a"]))
    sessions = sorted(
        (r["user"], r["window_start"].timestamp(), r["window_end"].timestamp(), r["n"]) for r in out
    )
    assert sessions == [("a", 0, 7, 3), ("a", 10, 14, 1), ("b", 2, 6, 1)]


def test_update_mode_re_emits_every_window_the_batch_touched():
    engine = Engine()
    w = windower(engine, "tumbling", mode="update")
    out, _ = run(w, events([1, 2], users=["a", "b"]))
    assert sorted((r["user"], r["n"]) for r in out) == [("a", 1), ("b", 1)]
    out, _ = run(w, events([3, 15], users=["a", "a"], first_offset=2))
    assert sorted((r["user"], r["window_start"].timestamp(), r["n"]) for r in out) == [
        ("a", 0, 2),
        ("a", 10, 1),
        ("b", 0, 1),
    ]


def test_session_windows_cannot_be_updated_in_place():
    with pytest.raises(ConfigError) as err:
        windower(Engine(), "session", mode="update")
    assert "mode: append" in str(err.value)


def test_event_time_problems_are_rejected():
    engine = Engine()
    w = Windower(
        engine,
        WindowConfig(type="tumbling", size=10, time_column="at"),
        key=[],
        sql=None,
        mode="append",
        where="s",
    )
    table = events([1, 2, 3]).append_column("at", pa.array(["2024-01-01T00:00:05Z", "soon", None]))
    good, bad = w.event_times(table)
    assert good.column("_offset").to_pylist() == [0]
    assert bad.column("_offset").to_pylist() == [1, 2]
    assert (
        bad.column("_reason")[0].as_py() == "event time column 'at' is missing, null or not a time"
    )


@pytest.mark.parametrize("kind", sorted(WINDOWS))
@pytest.mark.parametrize("seed", range(3))
def test_a_restart_anywhere_rebuilds_the_same_state(kind, seed):
    """Process with random batches; crash at a random boundary; restore like the stream does.

    The restarted run must emit exactly what the uninterrupted run emits (no window
    counted twice, none lost), including late events with disorder beyond the lateness.
    """
    rng = random.Random(seed)
    times = [max(0.0, i * 0.5 + rng.uniform(-3, 3)) for i in range(80)]
    table = events(times, users=[rng.choice("abc") for _ in times])
    cuts = sorted(rng.sample(range(1, 80), 9))
    batches = [table.slice(a, b - a) for a, b in zip([0, *cuts], [*cuts, 80], strict=True)]
    crash_after = rng.randrange(1, len(batches))

    straight = windower(Engine(), kind)
    expected_out, expected_late = [], []
    for batch in batches:
        out, late = run(straight, batch)
        expected_out += out
        expected_late += late

    first = windower(Engine(), kind)
    got_out, got_late = [], []
    for batch in batches[:crash_after]:
        out, late = run(first, batch)
        got_out += out
        got_late += late
    consumed = sum(b.num_rows for b in batches[:crash_after])
    replay_from = first.replay_from().get("t", {}).get("0", consumed)
    watermark = first.watermark
    assert first.event_time == {("t", 0): max(int(t * 1000) for t in times[:consumed]) * 1000}

    second = windower(Engine(), kind)
    reread = table.slice(replay_from, consumed - replay_from)
    timed, _ = second.event_times(reread)
    dead = pa.array(got_late, pa.int64())
    kept = timed.filter(pa.compute.invert(pa.compute.is_in(timed.column("_offset"), dead)))
    second.restore(kept, watermark, first.event_time)
    for batch in batches[crash_after:]:
        out, late = run(second, batch)
        got_out += out
        got_late += late

    assert canon(got_out) == canon(expected_out)
    assert sorted(got_late) == sorted(expected_late)
