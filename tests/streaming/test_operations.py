"""Operating a long-running stream: SIGTERM, a zombie instance, a broker that goes away."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from duckpipe.project import load_project
from tests.streaming.helpers import BASE_MS, create_topic, produce, write_project
from tests.streaming.procs import StreamProcess, run_once

pytestmark = pytest.mark.kafka


def project(tmp_path: Path, bootstrap: str, topic: str, max_interval: str) -> Path:
    return write_project(
        tmp_path / "proj",
        f"""
name: ops
sources:
  events:
    uri: kafka://{bootstrap}
    topics: [{topic}]
    group_id: g-{topic}
streams:
  raw:
    source: events
    table: events
    max_records: 100000
    max_interval: {max_interval}
""",
    )


def events(start: int, count: int) -> list[tuple[int, dict]]:
    return [(i % 2, {"id": i, "ts": BASE_MS + i}) for i in range(start, start + count)]


def wait_for(condition: Callable[[], bool], timeout: float, what: str, proc: StreamProcess) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}; log:\n{proc.tail()}"
        time.sleep(0.1)


def logged(proc: StreamProcess, event: str) -> list[dict]:
    found = []
    for line in proc.log.read_text(errors="replace").splitlines():
        if line.startswith("{") and f'"event": "{event}"' in line:
            found.append(json.loads(line))
    return found


def ids(root: Path) -> list[int]:
    lake = load_project(root).open_lake()
    if not lake.exists("events"):
        return []
    return sorted(lake.dataset("events").to_table(columns=["id"]).column("id").to_pylist())


@pytest.fixture
def topic(kafka_service) -> str:
    name = f"ops-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_service.bootstrap, name, partitions=2)
    return name


def test_sigterm_commits_the_batch_in_progress_then_exits(kafka_service, topic, tmp_path):
    root = project(tmp_path, kafka_service.bootstrap, topic, "60s")
    proc = StreamProcess(root, "raw", "--format", "json")
    proc.start()
    wait_for(lambda: logged(proc, "stream_assigned"), 60, "the assignment", proc)
    produce(kafka_service.bootstrap, topic, events(0, 50))
    wait_for(lambda: logged(proc, "stream_status"), 30, "a status line", proc)
    time.sleep(1.0)  # the 50 records are polled into the open 60-second batch
    assert ids(root) == []
    proc.signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert ids(root) == list(range(50))
    finished = logged(proc, "stream_finished")[0]
    assert finished["stopped_by"] == "SIGTERM" and finished["records"] == 50
    [batch] = logged(proc, "stream_batch")
    assert batch["batch"] == 1 and batch["records"] == 50 and batch["stream"] == "raw"
    assert sum(batch["ends"][topic].values()) == 50  # next offsets of both partitions
    status = logged(proc, "stream_status")[-1]
    assert status["commits"] == 1 and status["dead_letters"] == 0
    assert set(status["lag"]) == {f"{topic}/0", f"{topic}/1"}


def start_and_freeze(root: Path, bootstrap: str, topic: str) -> StreamProcess:
    """A stream that polled 100 records into its open batch, then froze (GC pause, stopped VM)."""
    zombie = StreamProcess(root, "raw", "--format", "json")
    zombie.start()
    wait_for(lambda: logged(zombie, "stream_assigned"), 60, "the assignment", zombie)
    produce(bootstrap, topic, events(0, 100))
    time.sleep(1.5)
    zombie.signal(signal.SIGSTOP)
    return zombie


def test_a_zombie_is_fenced_by_the_lake_position(kafka_service, topic, tmp_path):
    """The replacement reads with another consumer group: only the lake commit can stop the zombie."""
    root = project(tmp_path, kafka_service.bootstrap, topic, "4s")
    zombie = start_and_freeze(root, kafka_service.bootstrap, topic)
    try:
        config = root / "duckpipe.yml"
        config.write_text(
            config.read_text().replace(f"group_id: g-{topic}", f"group_id: other-{topic}")
        )
        result = run_once(root, "raw")
        assert result.returncode == 0, result.stderr[-2000:]
        assert ids(root) == list(range(100))
    finally:
        zombie.signal(signal.SIGCONT)
    assert zombie.wait(60) == 3, zombie.tail()  # StreamFenced: it stops without writing
    assert "another instance of stream 'raw' committed" in zombie.log.read_text()
    assert ids(root) == list(range(100))


def test_a_zombie_in_the_same_group_never_duplicates(kafka_service, topic, tmp_path):
    """Back from its pause, the zombie either finds its partitions revoked and re-reads its
    positions from the lake, or reaches its commit first and is fenced; both are correct."""
    root = project(tmp_path, kafka_service.bootstrap, topic, "4s")
    zombie = start_and_freeze(root, kafka_service.bootstrap, topic)
    try:
        result = run_once(root, "raw")
        assert result.returncode == 0, result.stderr[-3000:] + zombie.tail()
    finally:
        zombie.signal(signal.SIGCONT)
    try:
        produce(kafka_service.bootstrap, topic, events(100, 10))
        wait_for(lambda: len(ids(root)) >= 110 or not zombie.running(), 60, "the zombie", zombie)
        if zombie.running():  # it resumed from the lake's positions
            assert len(logged(zombie, "stream_assigned")) >= 2
            zombie.signal(signal.SIGTERM)
            assert zombie.wait(30) == 0
        else:
            assert zombie.wait() == 3, zombie.tail()
            assert run_once(root, "raw").returncode == 0
    finally:
        if zombie.running():
            zombie.kill()
    assert ids(root) == list(range(110))


def test_the_stream_reconnects_when_the_broker_comes_back(kafka_service, topic, tmp_path):
    """The broker is killed and restarted on the same port while the stream runs.

    Waits follow what the stream reports (its outage and its records), not fixed sleeps,
    and end early with the log if the stream stopped. The outage outlasts the consumer's
    10 s session, so the stream must rejoin its group as the same static member: with the
    poll loop blocked in a group offset commit, librdkafka used to be fenced there
    ("Static consumer fenced ...") and the stream stopped.
    """
    root = project(tmp_path, kafka_service.bootstrap, topic, "0.3s")
    proc = StreamProcess(root, "raw", "--format", "json")
    proc.start()

    def alive(condition: Callable[[], bool]) -> Callable[[], bool]:
        def check() -> bool:
            assert proc.running(), f"the stream stopped; log:\n{proc.tail()}"
            return condition()

        return check

    try:
        wait_for(alive(lambda: bool(logged(proc, "stream_assigned"))), 60, "the assignment", proc)
        produce(kafka_service.bootstrap, topic, events(0, 100))
        wait_for(alive(lambda: len(ids(root)) == 100), 30, "the first records", proc)
        kafka_service.kill()
        wait_for(alive(lambda: bool(logged(proc, "broker_unreachable"))), 30, "the outage", proc)
        time.sleep(11)  # past the consumer's session timeout
        wait_for(alive(lambda: down(proc)), 10, "the outage on the status line", proc)
        kafka_service.start()
        produce(kafka_service.bootstrap, topic, events(100, 100))
        wait_for(alive(lambda: len(ids(root)) >= 200), 120, "records after the restart", proc)
        proc.signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.tail()
    finally:
        if proc.running():
            proc.kill()
    assert ids(root) == list(range(200))
    outage = logged(proc, "broker_unreachable")[0]
    assert outage["bootstrap"] == kafka_service.bootstrap and outage["attempts"] >= 1
    assert logged(proc, "broker_reachable"), proc.tail()
    assert logged(proc, "stream_status")[-1]["broker"] == "up"
    lines = [ln for ln in proc.log.read_text().splitlines() if not ln.startswith("--- start")]
    assert all(ln.startswith("{") for ln in lines)  # librdkafka's own log stays off the output


def down(proc: StreamProcess) -> bool:
    return any(s["broker"].startswith("broker down") for s in logged(proc, "stream_status"))


@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python"])
def test_rebalances_while_producing_lose_and_duplicate_nothing(
    kafka_service, topic, tmp_path, client
):
    """Another member joins and leaves the stream's group twice while records arrive:
    each time the stream's partitions are revoked and assigned again from the lake."""
    import threading

    from duckpipe.kafka.backends import open_consumer
    from duckpipe.kafka.settings import KafkaSettings

    root = project(tmp_path, kafka_service.bootstrap, topic, "0.3s")
    proc = StreamProcess(root, "raw", "--format", "json", "--client", client)
    proc.start()
    wait_for(lambda: logged(proc, "stream_assigned"), 60, "the assignment", proc)

    def feed() -> None:
        for start in range(0, 600, 50):
            produce(kafka_service.bootstrap, topic, events(start, 50))
            time.sleep(0.25)

    feeder = threading.Thread(target=feed)
    feeder.start()
    settings = KafkaSettings(
        bootstrap=kafka_service.bootstrap, topics=(topic,), group_id=f"g-{topic}.raw"
    )
    for _ in range(2):
        time.sleep(0.7)
        intruder = open_consumer(settings, client)
        intruder.subscribe(lambda parts: {}, lambda parts: None)
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            intruder.poll(100, 0.1)  # joins the group, takes a partition; its records go nowhere
        intruder.close()  # leaves: the stream gets everything back
    feeder.join()
    wait_for(lambda: len(ids(root)) >= 600, 60, "every record", proc)
    proc.signal(signal.SIGTERM)
    assert proc.wait(30) == 0, proc.tail()
    assert len(logged(proc, "stream_assigned")) >= 3  # it really was rebalanced
    assert ids(root) == list(range(600))


def test_a_stream_whose_topics_changed_reads_the_new_topic(kafka_service, topic, tmp_path):
    """Same stream, same group, new ``topics:`` straight after a run: the static member of the
    old subscription is still in the group (static members do not leave on close), and
    must not hand the new run the old topic's partitions."""
    root = project(tmp_path, kafka_service.bootstrap, topic, "0.3s")
    produce(kafka_service.bootstrap, topic, events(0, 10))
    first = run_once(root, "raw")
    assert first.returncode == 0, first.stderr[-2000:]
    assert ids(root) == list(range(10))
    other = f"{topic}-b"
    create_topic(kafka_service.bootstrap, other, partitions=2)
    produce(kafka_service.bootstrap, other, events(10, 10))
    config = root / "duckpipe.yml"
    config.write_text(config.read_text().replace(f"topics: [{topic}]", f"topics: [{other}]"))
    second = run_once(root, "raw", "--format", "json")
    assert second.returncode == 0, second.stderr[-2000:]
    assert ids(root) == list(range(20))
    assigned = [json.loads(ln) for ln in second.stdout.splitlines() if '"stream_assigned"' in ln]
    assert assigned and all(set(a["starts"]) == {other} for a in assigned)
