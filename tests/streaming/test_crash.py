"""Acceptance: SIGKILL the stream at random moments while producing; nothing lost, nothing twice.

For each table format, M messages are produced in small transactions (some aborted,
a few poison messages among them) while two stream processes (raw records, and a
tumbling-window aggregate) are killed with SIGKILL K times at random moments and
started again. At the end the raw table holds each committed record exactly once
(compared by partition and offset), the DLQ holds each poison message once, no
aborted record appears, and the windowed table equals the aggregate computed
directly from the produced data.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter

import pytest

from duckpipe.project import load_project
from tests.streaming.helpers import BASE_MS, create_topic, write_project
from tests.streaming.procs import StreamProcess, read_topic, run_once

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
M = 2000
K = 3
LATENESS_S = 2
WINDOW_S = 5


def event(i: int) -> dict:
    return {"id": i, "user": f"u{i % 5}", "ts": BASE_MS + i * 10}


def produce_in_transactions(bootstrap: str, topic: str, seed: int, done: threading.Event) -> None:
    """M good messages in transactions of 40, every 5th transaction followed by an aborted one."""
    from confluent_kafka import Producer

    rng = random.Random(seed)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "transactional.id": f"crash-{topic}", "linger.ms": 2}
    )
    producer.init_transactions(30)
    poison_at = set(rng.sample(range(M), 5))
    i, txn = 0, 0
    while i < M:
        producer.begin_transaction()
        for _ in range(min(40, M - i)):
            producer.produce(topic, json.dumps(event(i)).encode(), partition=i % 2)
            if i in poison_at:
                producer.produce(topic, b"poison " + str(i).encode(), partition=i % 2)
            i += 1
        producer.commit_transaction(30)
        txn += 1
        if txn % 5 == 0:
            producer.begin_transaction()
            for j in range(10):
                producer.produce(topic, json.dumps(event(100_000 + j)).encode(), partition=j % 2)
            producer.flush(10)
            producer.abort_transaction(30)
        time.sleep(rng.uniform(0.02, 0.12))
    done.set()


def expected_windows(up_to_us: int) -> Counter:
    counts: Counter = Counter()
    for i in range(M):
        e = event(i)
        start = e["ts"] // (WINDOW_S * 1000) * WINDOW_S * 1000
        if (start + WINDOW_S * 1000) * 1000 <= up_to_us:
            counts[(e["user"], start)] += 1
    return counts


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_sigkill_while_producing_loses_and_duplicates_nothing(kafka_service, tmp_path, fmt):
    boot = kafka_service.bootstrap
    topic = f"crash-{uuid.uuid4().hex[:8]}"
    create_topic(boot, topic, partitions=2)
    root = write_project(
        tmp_path / "proj",
        f"""
name: crash
format: {fmt}
sources:
  events:
    uri: kafka://{boot}
    topics: [{topic}]
    group_id: g-{topic}
    contract: {{dtypes: {{id: int64, ts: int64}}}}
streams:
  raw:
    source: events
    table: events_raw
    max_records: 150
    max_interval: 0.3s
  per_user:
    source: events
    table: events_per_user
    max_records: 150
    max_interval: 0.3s
    key: [user]
    window: {{type: tumbling, size: {WINDOW_S}s, time_column: ts, allowed_lateness: {LATENESS_S}s}}
    sql: select user, window_start, window_end, count(*) as events from windowed group by all
""",
    )
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    done = threading.Event()
    producer = threading.Thread(target=produce_in_transactions, args=(boot, topic, seed, done))
    streams = [StreamProcess(root, "raw"), StreamProcess(root, "per_user")]
    for s in streams:
        s.start()
    producer.start()
    kills = 0
    try:
        for _ in range(K):
            for s in streams:
                time.sleep(rng.uniform(0.8, 2.5))
                assert s.running(), f"seed {seed}: {s.name} exited early:\n{s.tail()}"
                s.kill()
                kills += 1
                s.start()
        producer.join(120)
        assert done.is_set(), "the producer did not finish"
        for s in streams:
            time.sleep(rng.uniform(0.2, 1.0))
            s.kill()  # a last crash after the producer is done
    finally:
        for s in streams:
            if s.running():
                s.kill()
    for s in streams:  # drain what is left, then stop
        result = run_once(root, s.name)
        assert result.returncode == 0, (
            f"seed {seed}: {s.name} --once failed:\n{result.stderr[-3000:]}"
        )
    assert kills == 2 * K

    produced = read_topic(boot, topic).to_pylist()
    good = {
        (r["_partition"], r["_offset"]): r
        for r in produced
        if not r["_value"].startswith(b"poison")
    }
    poison = {
        (r["_partition"], r["_offset"]) for r in produced if r["_value"].startswith(b"poison")
    }
    assert len(good) == M and len(poison) == 5

    lake = load_project(root).open_lake()
    raw = lake.dataset("events_raw").to_table(columns=["_partition", "_offset", "id"]).to_pylist()
    landed = [(r["_partition"], r["_offset"]) for r in raw]
    assert len(landed) == len(set(landed)), f"seed {seed}: duplicates in the raw table"
    assert set(landed) == set(good), f"seed {seed}: missing {len(set(good) - set(landed))} records"
    assert sorted(r["id"] for r in raw) == list(range(M))  # no aborted record (ids >= 100000)
    dead = lake.dataset("_dlq/raw").to_table(columns=["_partition", "_offset"]).to_pylist()
    assert sorted((r["_partition"], r["_offset"]) for r in dead) == sorted(poison)

    position = lake.read_position("events_per_user", "stream:per_user").value
    watermark = position["watermark_us"]
    assert watermark == (event(M - 1)["ts"] - LATENESS_S * 1000) * 1000
    windows = lake.dataset("events_per_user").to_table().to_pylist()
    got = Counter()
    for w in windows:
        got[(w["user"], int(w["window_start"].timestamp() * 1000))] += w["events"]
    assert len(windows) == len(got), f"seed {seed}: a window was emitted twice"
    assert got == expected_windows(watermark), f"seed {seed}"
    late = lake.dataset("_dlq/per_user").to_table(columns=["reason"]).to_pylist()
    assert sorted(r["reason"] for r in late) == ["the value is not valid JSON"] * 5
