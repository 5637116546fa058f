"""A stream's derived topic (``topic:``): each output row published exactly once.

Read back with ``isolation.level=read_committed``. The crash test kills two stream
processes (raw records, and a tumbling-window aggregate) with SIGKILL at random
moments while input arrives in transactions (some aborted), restarts them, and then
checks the derived topics: one message per input record (by the source offset in the
headers) and one message per closed window, equal to the aggregate computed directly.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from duckpipe.core.console import NullConsole
from duckpipe.core.errors import ConfigError, StreamError, StreamFenced
from duckpipe.project import load_project
from duckpipe.streaming import StreamOptions, run_stream
from tests.streaming.helpers import BASE_MS, create_topic, produce, write_project
from tests.streaming.procs import StreamProcess, read_topic, run_once

pytestmark = pytest.mark.kafka
WINDOW_S = 5


def project(root: Path, bootstrap: str, topic: str, streams: str, fmt: str = "delta") -> Path:
    return write_project(
        root,
        f"""
name: derived
format: {fmt}
sources:
  events:
    uri: kafka://{bootstrap}
    topics: [{topic}]
    group_id: g-{topic}
streams:
{streams}
""",
    )


def once(root: Path, name: str, client: str | None = None, **options) -> object:
    return run_stream(
        load_project(root),
        name,
        StreamOptions(once=True, client=client, **options),
        console=NullConsole(),
    )


def event(i: int) -> dict:
    return {"id": i, "user": f"u{i % 5}", "amount": i * 0.25, "ts": BASE_MS + i * 10}


def messages(bootstrap: str, topic: str) -> list[dict]:
    """The committed messages of ``topic``: key and value decoded, headers as a dict."""
    found = read_topic(bootstrap, topic).to_pylist()
    return [
        {
            "key": json.loads(m["_key"]) if m["_key"] is not None else None,
            "value": json.loads(m["_value"]),
            "headers": {h["key"]: h["value"].decode() for h in m["_headers"] or []},
        }
        for m in found
    ]


@pytest.fixture
def topics(kafka_service) -> tuple[str, str]:
    name = uuid.uuid4().hex[:8]
    source, derived = f"in-{name}", f"out-{name}"
    create_topic(kafka_service.bootstrap, source, partitions=2)
    create_topic(kafka_service.bootstrap, derived, partitions=2)
    return source, derived


@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python"])
def test_each_output_row_is_published_once_with_its_key(kafka_service, topics, tmp_path, client):
    boot = kafka_service.bootstrap
    source, derived = topics
    produce(boot, source, [(i % 2, event(i)) for i in range(60)])
    produce(boot, source, [(0, event(1000)), (1, event(1001))], transactional_id="a", abort=True)
    produce(boot, source, [(0, b"not json")])
    streams = f"""
  shaped:
    source: events
    table: shaped
    max_records: 25
    max_interval: 0.3s
    key: [user]
    topic: {derived}
    sql: >
      select id, user, cast(amount as decimal(10, 2)) as amount,
             make_timestamp(ts * 1000)::timestamptz as at, _topic, _partition, _offset
      from batch
"""
    root = project(tmp_path / "proj", boot, source, streams)
    once(root, "shaped", client)
    once(root, "shaped", client, from_offsets=("0:0", "1:0"))  # a replay publishes nothing again
    got = messages(boot, derived)
    assert sorted(m["value"]["id"] for m in got) == list(range(60))  # nothing aborted, no poison
    first = next(m for m in got if m["value"]["id"] == 3)
    assert first["key"] == {"user": "u3"}
    assert first["value"]["amount"] == "0.75"
    assert first["value"]["at"] == "2023-11-14T22:13:20.030000Z"
    assert first["value"]["_partition"] == 1
    assert first["headers"]["duckpipe.offset"] == str(first["value"]["_offset"])
    assert first["headers"]["duckpipe.stream"] == "shaped"
    assert len(load_project(root).open_lake().dataset("shaped").to_table()) == 60


def produce_in_transactions(boot: str, topic: str, count: int, seed: int) -> None:
    """``count`` messages in transactions of 25, every 4th transaction followed by an aborted one."""
    from confluent_kafka import Producer

    rng = random.Random(seed)
    producer = Producer(
        {"bootstrap.servers": boot, "transactional.id": f"p-{topic}", "linger.ms": 2}
    )
    producer.init_transactions(30)
    for txn, start in enumerate(range(0, count, 25)):
        producer.begin_transaction()
        for i in range(start, min(start + 25, count)):
            producer.produce(topic, json.dumps(event(i)).encode(), partition=i % 2)
        producer.commit_transaction(30)
        if txn % 4 == 3:
            producer.begin_transaction()
            for j in range(5):
                producer.produce(topic, json.dumps(event(50_000 + j)).encode(), partition=j % 2)
            producer.flush(10)
            producer.abort_transaction(30)
        time.sleep(rng.uniform(0.02, 0.1))


@pytest.mark.slow
def test_sigkill_while_producing_publishes_each_record_and_window_once(
    kafka_service, topics, tmp_path
):
    boot = kafka_service.bootstrap
    source, derived = topics
    windows_topic = f"{derived}-w"
    create_topic(boot, windows_topic, partitions=2)
    m, k = 1200, 3
    streams = f"""
  raw:
    source: events
    table: raw
    max_records: 100
    max_interval: 0.3s
    topic: {derived}
  per_user:
    source: events
    table: per_user
    max_records: 100
    max_interval: 0.3s
    key: [user]
    topic: {windows_topic}
    window: {{type: tumbling, size: {WINDOW_S}s, time_column: ts, allowed_lateness: 1s}}
    sql: select user, window_start, window_end, count(*) as events from windowed group by all
"""
    root = project(tmp_path / "proj", boot, source, streams)
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    producer = threading.Thread(target=produce_in_transactions, args=(boot, source, m, seed))
    procs = [StreamProcess(root, n, "--format", "json") for n in ("raw", "per_user")]
    for p in procs:
        p.start()
    producer.start()
    for _ in range(k):
        for p in procs:
            time.sleep(rng.uniform(0.5, 1.5))
            assert p.running(), f"seed {seed}: {p.name} exited early:\n{p.tail()}"
            p.kill()
            p.start()
    producer.join(120)
    for p in procs:
        p.kill()
        result = run_once(root, p.name)
        assert result.returncode == 0, f"seed {seed}: {p.name}:\n{result.stderr[-3000:]}"

    inputs = {
        (r["_partition"], r["_offset"]): json.loads(r["_value"])["id"]
        for r in read_topic(boot, source).to_pylist()
    }
    assert sorted(inputs.values()) == list(range(m))
    raw = messages(boot, derived)
    sources = [
        (int(x["headers"]["duckpipe.partition"]), int(x["headers"]["duckpipe.offset"])) for x in raw
    ]
    assert len(sources) == len(set(sources)), f"seed {seed}: a record was published twice"
    assert set(sources) == set(inputs), f"seed {seed}: {len(set(inputs) - set(sources))} missing"
    assert all(inputs[s] == x["value"]["id"] for s, x in zip(sources, raw, strict=True))

    lake = load_project(root).open_lake()
    watermark = lake.read_position("per_user", "stream:per_user").value["watermark_us"]
    expected: Counter = Counter()
    for i in range(m):
        start = event(i)["ts"] // (WINDOW_S * 1000) * WINDOW_S * 1000
        if (start + WINDOW_S * 1000) * 1000 <= watermark:
            expected[(event(i)["user"], start)] += 1
    windows = messages(boot, windows_topic)
    published = Counter()
    for w in windows:
        start = w["value"]["window_start"]
        assert w["key"] == {"user": w["value"]["user"], "window_start": start}
        millis = int(datetime.fromisoformat(start).timestamp() * 1000)
        published[(w["value"]["user"], millis)] += w["value"]["events"]
    assert len(windows) == len(published), f"seed {seed}: a window was published twice"
    assert published == expected, f"seed {seed}"


def test_a_zombie_does_not_publish_twice(kafka_service, topics, tmp_path):
    """Frozen with records in its open batch while a replacement publishes them: back, the
    zombie is fenced (lake position, producer epoch or group membership) or re-reads its
    positions; either way each record is published once."""
    boot = kafka_service.bootstrap
    source, derived = topics
    streams = f"""
  raw:
    source: events
    table: raw
    max_records: 100000
    max_interval: 4s
    topic: {derived}
"""
    root = project(tmp_path / "proj", boot, source, streams)
    zombie = StreamProcess(root, "raw", "--format", "json")
    zombie.start()
    deadline = time.monotonic() + 60
    while '"event": "stream_assigned"' not in zombie.log.read_text(errors="replace"):
        assert time.monotonic() < deadline, zombie.tail()
        time.sleep(0.1)
    produce(boot, source, [(i % 2, event(i)) for i in range(100)])
    time.sleep(1.5)  # polled into the open 4-second batch
    zombie.signal(signal.SIGSTOP)
    try:
        result = run_once(root, "raw")
        assert result.returncode == 0, result.stderr[-3000:]
    finally:
        zombie.signal(signal.SIGCONT)
    produce(boot, source, [(i % 2, event(i)) for i in range(100, 110)])
    time.sleep(6)  # the zombie's batch closes: it commits, is fenced, or re-reads
    if zombie.running():
        zombie.signal(signal.SIGTERM)
        assert zombie.wait(30) == 0, zombie.tail()
    else:
        assert zombie.wait() == 3, zombie.tail()
    assert run_once(root, "raw").returncode == 0
    ids = sorted(x["value"]["id"] for x in messages(boot, derived))
    assert ids == list(range(110))


@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python"])
def test_a_fenced_producer_stops_with_a_clear_error(kafka_service, topics, client):
    import pyarrow as pa

    from duckpipe.config import StreamConfig
    from duckpipe.kafka.backends import open_consumer, open_producer
    from duckpipe.kafka.settings import KafkaSettings
    from duckpipe.streaming.topics import TopicOutputs

    boot = kafka_service.bootstrap
    source, derived = topics
    config = StreamConfig(source="events", table="t", topic=derived)
    settings = KafkaSettings(bootstrap=boot, topics=(source,), group_id=f"fence-{source}")
    tid = f"duckpipe.fence-{source}"
    consumer = open_consumer(settings, client)
    old = TopicOutputs("s", config, open_producer(settings, tid, client))
    new = open_producer(settings, tid, client)  # a new instance takes over the id
    try:
        rows = pa.table({"id": [1]})
        with pytest.raises(StreamFenced, match="another instance of stream 's' took over") as e:
            old.publish(rows, pa.table({}), {(source, 0): 0}, consumer.group_metadata())
        assert e.value.hint and "one instance per stream" in e.value.hint
    finally:
        for closing in (new, old.producer, consumer):
            with contextlib.suppress(Exception):
                closing.close()


def test_bad_topic_settings_are_named(kafka_service, topics, tmp_path):
    boot = kafka_service.bootstrap
    source, derived = topics
    produce(boot, source, [(0, event(1))])

    def stream(**fields: str) -> Path:
        body = "\n".join(f"    {k}: {v}" for k, v in fields.items())
        root = tmp_path / uuid.uuid4().hex[:6]
        return project(root, boot, source, f"  s:\n    source: events\n    table: t\n{body}\n")

    with pytest.raises(ConfigError, match="which it reads itself") as e:
        once(stream(topic=source), "s")
    assert e.value.where == "streams.s.topic"
    with pytest.raises(ConfigError, match="to the same topic") as e:
        once(stream(topic=derived, dlq_topic=derived), "s")
    with pytest.raises(StreamError, match="topic 'nowhere-x' does not exist") as e:
        once(stream(topic="nowhere-x"), "s")
    assert e.value.where == "streams.s.topic" and "create it first" in (e.value.hint or "")
    with pytest.raises(ConfigError, match="key column 'region' is not in the stream's output"):
        once(stream(topic=derived, topic_key="[region]"), "s")
    assert not _has_records(boot, derived)  # nothing was published by the failed streams


def _has_records(boot: str, topic: str) -> bool:
    from duckpipe.kafka.backends import open_consumer
    from duckpipe.kafka.settings import KafkaSettings

    consumer = open_consumer(KafkaSettings(bootstrap=boot, topics=(topic,)), "confluent-kafka")
    try:
        return any(consumer.end_offsets(consumer.partitions()).values())
    finally:
        consumer.close()


DIE_AFTER_PUBLISH = """
import os, signal, sys
from duckpipe.streaming import topics
publish, calls, die_at = topics.TopicOutputs.publish, [], int(sys.argv[1])
def publish_then_die(self, *args, **kwargs):
    published = publish(self, *args, **kwargs)
    calls.append(published)
    if len(calls) == die_at:  # the Kafka transaction is committed, the lake's is not
        os.kill(os.getpid(), signal.SIGKILL)
    return published
topics.TopicOutputs.publish = publish_then_die
from duckpipe.cli import main
sys.argv = ["duckpipe", *sys.argv[2:]]
main()
"""


@pytest.mark.parametrize("stream", ["raw", "per_user"])
def test_a_crash_between_the_transaction_and_the_lake_commit(
    kafka_service, topics, tmp_path, stream
):
    """The restart re-processes the published batch into the lake only, windows included."""
    import subprocess
    import sys

    boot = kafka_service.bootstrap
    source, derived = topics
    produce(boot, source, [(i % 2, event(i)) for i in range(400)])
    streams = f"""
  raw:
    source: events
    table: raw
    max_records: 60
    max_interval: 0.3s
    topic: {derived}
  per_user:
    source: events
    table: per_user
    max_records: 60
    max_interval: 0.3s
    key: [user]
    topic: {derived}
    window: {{type: tumbling, size: 1s, time_column: ts, allowed_lateness: 0.2s}}
    sql: select user, window_start, window_end, count(*) as events from windowed group by all
"""
    root = project(tmp_path / "proj", boot, source, streams)
    args = ["--project", str(root), "stream", stream, "--once", "--format", "json"]
    died = subprocess.run(
        [sys.executable, "-c", DIE_AFTER_PUBLISH, "3", *args], capture_output=True, timeout=120
    )
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    again = run_once(root, stream, "--format", "json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert '"event": "stream_catching_up"' in again.stdout  # the lake was one batch behind
    got = messages(boot, derived)
    lake = load_project(root).open_lake().dataset(stream).to_table().to_pylist()
    if stream == "raw":
        ids = sorted(x["value"]["id"] for x in got)
        assert ids == list(range(400))
        assert sorted(r["id"] for r in lake) == list(range(400))
        return
    keys = [(x["key"]["user"], x["key"]["window_start"]) for x in got]
    assert len(keys) == len(set(keys)), "a window was published twice"
    watermark = load_project(root).open_lake().read_position(stream, f"stream:{stream}")
    closed_by = watermark.value["watermark_us"] // 1000
    expected = Counter(
        (event(i)["user"], event(i)["ts"] // 1000 * 1000)
        for i in range(400)
        if event(i)["ts"] // 1000 * 1000 + 1000 <= closed_by
    )
    published = Counter(
        {
            (
                x["value"]["user"],
                int(datetime.fromisoformat(x["key"]["window_start"]).timestamp() * 1000),
            ): x["value"]["events"]
            for x in got
        }
    )
    assert published == expected
    in_lake = Counter(
        {(r["user"], int(r["window_start"].timestamp() * 1000)): r["events"] for r in lake}
    )
    assert in_lake == expected


def test_a_crash_mid_stream_keeps_the_published_watermark(kafka_service, topics, tmp_path):
    """Out of order across partitions: a crash between the Kafka and the lake commit, then
    events that are late for the published watermark but not for a recomputed one.

    The first batch (all there is: partition 0 seconds ahead of partition 1's three
    events) is published with both partitions caught up, so its watermark follows the
    newest event. Then partition 1 gets a backlog of events from before that watermark.
    Re-processing the batch with partition 1 busy again would compute a watermark held
    back by partition 1 and take the backlog into windows the topic already holds; the
    catch-up step takes the published watermark instead, so the backlog is late (DLQ)
    and every window is in the topic once, with the count the lake holds.
    """
    import subprocess
    import sys

    boot = kafka_service.bootstrap
    source, derived = topics

    def at(ms: int, n: int) -> dict:
        return {"id": n, "user": f"u{n % 3}", "amount": 1.0, "ts": BASE_MS + ms}

    produce(boot, source, [(1, at(j * 100, 10_000 + j)) for j in range(3)])
    produce(boot, source, [(0, at(3_000 + i * 100, i)) for i in range(60)])
    streams = f"""
  per_user:
    source: events
    table: per_user
    max_records: 100
    max_interval: 1s
    key: [user]
    topic: {derived}
    window: {{type: tumbling, size: 1s, time_column: ts, allowed_lateness: 0.5s}}
    sql: select user, window_start, window_end, count(*) as events from windowed group by all
"""
    root = project(tmp_path / "proj", boot, source, streams)
    args = ["--project", str(root), "stream", "per_user", "--once", "--format", "json"]
    died = subprocess.run(
        [sys.executable, "-c", DIE_AFTER_PUBLISH, "1", *args], capture_output=True, timeout=120
    )
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    produce(boot, source, [(1, at(k * 30, 20_000 + k)) for k in range(300)])
    again = run_once(root, "per_user", "--format", "json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert '"event": "stream_catching_up"' in again.stdout

    lake = load_project(root).open_lake()
    got = messages(boot, derived)
    keys = [(x["key"]["user"], x["key"]["window_start"]) for x in got]
    assert len(keys) == len(set(keys)), "a window was published twice"
    published = {k: x["value"]["events"] for k, x in zip(keys, got, strict=True)}
    in_lake = {
        (r["user"], r["window_start"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")): r["events"]
        for r in lake.dataset("per_user").to_table().to_pylist()
    }
    assert published == in_lake
    late = lake.dataset("_dlq/per_user").to_table().to_pylist()
    assert {r["_offset"] for r in late} == set(range(3, 3 + 280))  # before 8.4 s: 8,900 - 500 ms
    assert all(r["reason"].startswith("late event") for r in late)
