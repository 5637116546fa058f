"""The Kafka client contract: one behaviour suite over every backend in ``BACKENDS``.

Each row is a backend and the broker it talks to: the in-memory twin, and
confluent-kafka and kafka-python against the real Apache Kafka broker the test
session starts. Every case asserts the same behaviour on every row; the twin is
exactly as good as the real rows say it is.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest

from duckpipe.core.errors import SourceError, StreamFenced
from duckpipe.kafka.backends import BACKENDS, open_consumer, open_producer
from duckpipe.kafka.client import Consumer
from duckpipe.kafka.memory_broker import cluster, forget
from duckpipe.kafka.positions import BEGINNING, END
from duckpipe.kafka.records import raw_schema
from duckpipe.kafka.settings import KafkaSettings
from tests.streaming.helpers import create_topic, produce

ROWS = [
    pytest.param("memory", id="memory"),
    pytest.param("confluent-kafka", marks=pytest.mark.kafka, id="confluent-kafka"),
    pytest.param("kafka-python", marks=pytest.mark.kafka, id="kafka-python"),
]


@dataclass
class Broker:
    """One row: the backend under test and how the test puts records on its broker."""

    client: str
    bootstrap: str

    def create_topic(self, name: str, partitions: int = 1) -> None:
        if self.client == "memory":
            cluster(self.bootstrap).create_topic(name, partitions)
        else:
            create_topic(self.bootstrap, name, partitions)

    def produce(
        self,
        topic: str,
        messages: list[tuple[int, bytes]],
        *,
        transactional_id: str | None = None,
        abort: bool = False,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """``(partition, value)`` records, keyed by their index (in one transaction when
        ``transactional_id`` is given), written by the test, not by the backend under test."""
        if self.client != "memory":
            produce(
                self.bootstrap,
                topic,
                messages,
                transactional_id=transactional_id,
                abort=abort,
                headers=headers,
            )
            return
        twin = cluster(self.bootstrap)
        if transactional_id is None:
            for i, (partition, value) in enumerate(messages):
                twin.append((topic, partition), value, key=str(i).encode(), headers=headers)
            return
        producer = open_producer(KafkaSettings(self.bootstrap), transactional_id, "memory")
        producer.begin()
        for i, (partition, value) in enumerate(messages):
            producer.send(topic, value, key=str(i).encode(), headers=headers, partition=partition)
        producer.abort() if abort else producer.commit()

    def open_transaction(self, topic: str, partition: int, value: bytes) -> Callable[[], None]:
        """A transaction left open on ``partition`` with one record; the call aborts it."""
        if self.client == "memory":
            producer = open_producer(KafkaSettings(self.bootstrap), f"open-{topic}", "memory")
            producer.begin()
            producer.send(topic, value, partition=partition)
            return producer.abort
        from confluent_kafka import Producer

        open_tx = Producer(
            {"bootstrap.servers": self.bootstrap, "transactional.id": f"open-{topic}"}
        )
        open_tx.init_transactions(30)
        open_tx.begin_transaction()
        open_tx.produce(topic, value, partition=partition)
        open_tx.flush(10)
        return lambda: open_tx.abort_transaction(30)

    def settings(self, topic: str, **kw: Any) -> KafkaSettings:
        kw.setdefault("group_id", f"g-{uuid.uuid4().hex[:6]}")
        return KafkaSettings(bootstrap=self.bootstrap, topics=(topic,), **kw)

    def consumer(self, topic: str, **kw: Any) -> Consumer:
        return open_consumer(self.settings(topic, **kw), self.client)


@pytest.fixture(params=ROWS)
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    if request.param == "memory":
        name = f"twin-{uuid.uuid4().hex[:8]}:1"
        yield Broker("memory", name)
        forget(name)
    else:
        yield Broker(request.param, request.getfixturevalue("kafka_service").bootstrap)


@pytest.fixture
def topic(broker: Broker) -> str:
    name = f"contract-{uuid.uuid4().hex[:8]}"
    broker.create_topic(name, partitions=2)
    return name


def drain(consumer: Consumer, until: dict, timeout: float = 20) -> pa.Table:
    """Poll until every partition's position reaches ``until``."""
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = consumer.poll(500, 0.2)
        if chunk is not None:
            chunks.append(chunk)
        if all((consumer.position(tp) or -1) >= end for tp, end in until.items()):
            break
    return pa.concat_tables(chunks) if chunks else raw_schema().empty_table()


def values(records: pa.Table) -> list[bytes]:
    return records.column("_value").to_pylist()


def test_every_backend_is_registered_and_the_twin_is_never_chosen_by_auto() -> None:
    from duckpipe.kafka.backends import choose_client

    assert set(BACKENDS) == {"confluent-kafka", "kafka-python", "memory"}
    assert choose_client("auto") in ("confluent-kafka", "kafka-python")
    assert choose_client("memory") == "memory"


def test_reads_only_committed_records_with_kafka_metadata(broker: Broker, topic: str) -> None:
    headers = [("trace", b"abc")]
    broker.produce(
        topic,
        [(i % 2, f'{{"i": {i}}}'.encode()) for i in range(6)],
        transactional_id=f"tx-{topic}",
        headers=headers,
    )
    broker.produce(
        topic,
        [(i % 2, f'{{"i": {100 + i}}}'.encode()) for i in range(3)],
        transactional_id=f"tx-{topic}",
        abort=True,
    )
    abort_open = broker.open_transaction(topic, 0, b'{"i": 999}')
    try:
        consumer = broker.consumer(topic)
        parts = consumer.partitions()
        assert parts == [(topic, 0), (topic, 1)]
        ends = consumer.end_offsets(parts)  # the last stable offsets: not the open transaction
        assert ends == {(topic, 0): 7, (topic, 1): 6}  # 3 + 2 aborted + commit/abort markers
        consumer.assign({tp: BEGINNING for tp in parts})
        records = drain(consumer, ends)
        consumer.close()
    finally:
        abort_open()
    assert records.schema == raw_schema()
    assert sorted(values(records)) == sorted(f'{{"i": {i}}}'.encode() for i in range(6))
    by_offset = sorted(
        zip(
            records.column("_partition").to_pylist(),
            records.column("_offset").to_pylist(),
            strict=True,
        )
    )
    assert by_offset == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    row = records.to_pylist()[0]
    assert row["_topic"] == topic and row["_key"] is not None
    assert row["_headers"] == [{"key": "trace", "value": b"abc"}]
    assert abs(row["_timestamp"].timestamp() - time.time()) < 120


def test_an_open_transaction_holds_back_what_was_committed_after_it(
    broker: Broker, topic: str
) -> None:
    broker.produce(topic, [(0, b"before")])
    abort_open = broker.open_transaction(topic, 0, b"pending")
    broker.produce(topic, [(0, b"after")], transactional_id=f"late-{topic}")
    consumer = broker.consumer(topic)
    tp = (topic, 0)
    try:
        assert consumer.end_offsets([tp]) == {tp: 1}  # the LSO: the open transaction's start
        consumer.assign({tp: BEGINNING})
        assert values(drain(consumer, {tp: 1}, timeout=5)) == [b"before"]
        assert consumer.poll(100, 0.5) is None
    finally:
        abort_open()
    # pending (1), after (2), its commit marker (3), the abort marker (4)
    assert consumer.end_offsets([tp]) == {tp: 5}
    assert values(drain(consumer, {tp: 5})) == [b"after"]
    consumer.close()


def test_records_without_headers_have_null_headers_and_poll_leaves_the_collector_as_it_was(
    broker: Broker, topic: str
) -> None:
    broker.produce(topic, [(0, b'{"i": 0}')], headers=[("trace", b"a")])
    broker.produce(topic, [(0, b'{"i": 1}'), (1, b'{"i": 2}')])
    ends = {(topic, 0): 2, (topic, 1): 1}
    seen = {}
    for collector_on in (True, False):
        consumer = broker.consumer(topic)
        consumer.assign({tp: BEGINNING for tp in consumer.partitions()})
        if not collector_on:
            gc.disable()
        try:
            records = drain(consumer, ends)
            assert gc.isenabled() is collector_on
        finally:
            gc.enable()
            consumer.close()
        seen[collector_on] = sorted(
            (r["_partition"], r["_offset"], r["_headers"]) for r in records.to_pylist()
        )
    assert (
        seen[True]
        == seen[False]
        == [
            (0, 0, [{"key": "trace", "value": b"a"}]),
            (0, 1, None),
            (1, 0, None),
        ]
    )


def test_one_partition_is_read_in_the_order_it_was_written(broker: Broker, topic: str) -> None:
    sent = [f"m{i:03d}".encode() for i in range(120)]
    broker.produce(topic, [(1, v) for v in sent[:60]], transactional_id=f"order-{topic}")
    broker.produce(topic, [(1, v) for v in sent[60:]])
    consumer = broker.consumer(topic)
    tp = (topic, 1)
    consumer.assign({tp: BEGINNING})
    records = drain(consumer, {tp: 121})
    consumer.close()
    assert values(records) == sent
    assert records.column("_offset").to_pylist() == [*range(60), *range(61, 121)]


def test_beginning_end_and_time_lookups(broker: Broker, topic: str) -> None:
    broker.produce(topic, [(0, f'{{"i": {i}}}'.encode()) for i in range(4)])
    consumer = broker.consumer(topic)
    parts = consumer.partitions()
    assert consumer.beginning_offsets(parts) == {(topic, 0): 0, (topic, 1): 0}
    assert consumer.end_offsets(parts) == {(topic, 0): 4, (topic, 1): 0}
    past = consumer.offsets_for_time(parts, 0)
    future = consumer.offsets_for_time(parts, int(time.time() * 1000) + 3_600_000)
    consumer.close()
    assert past == {(topic, 0): 0, (topic, 1): 0}
    assert future == {(topic, 0): 4, (topic, 1): 0}


def test_seek_replays_from_an_offset_and_from_a_time(broker: Broker, topic: str) -> None:
    tp = (topic, 0)
    broker.produce(topic, [(0, b"a"), (0, b"b"), (0, b"c")])
    time.sleep(0.05)
    cut = int(time.time() * 1000)
    time.sleep(0.05)
    broker.produce(topic, [(0, b"d"), (0, b"e")])
    consumer = broker.consumer(topic)
    consumer.assign({tp: END})
    assert consumer.poll(100, 1.0) is None  # END: only what comes after
    broker.produce(topic, [(0, b"f")])
    assert values(drain(consumer, {tp: 6})) == [b"f"]
    consumer.seek(tp, 1)
    assert values(drain(consumer, {tp: 6})) == [b"b", b"c", b"d", b"e", b"f"]
    at = consumer.offsets_for_time([tp], cut)
    assert at == {tp: 3}
    consumer.seek(tp, at[tp])
    assert values(drain(consumer, {tp: 6})) == [b"d", b"e", b"f"]
    consumer.close()


def test_subscribe_starts_where_the_assignment_callback_says(broker: Broker, topic: str) -> None:
    broker.produce(topic, [(0, f'{{"i": {i}}}'.encode()) for i in range(5)])
    consumer = broker.consumer(topic)
    assigned: list = []

    def on_assign(parts):
        assigned.extend(parts)
        return {tp: 3 if tp[1] == 0 else 0 for tp in parts}

    consumer.subscribe(on_assign, lambda parts: None)
    records = drain(consumer, {(topic, 0): 5}, timeout=30)
    assert sorted(assigned) == [(topic, 0), (topic, 1)]
    assert records.column("_offset").to_pylist() == [3, 4]
    assert sorted(consumer.assignment()) == [(topic, 0), (topic, 1)]
    assert consumer.lag().get((topic, 0)) == 0
    consumer.commit({(topic, 0): 5})
    assert consumer.committed([(topic, 0), (topic, 1)]) == {(topic, 0): 5, (topic, 1): None}
    consumer.close()


def test_a_new_member_resumes_from_the_groups_committed_offsets(broker: Broker, topic: str) -> None:
    broker.produce(topic, [(0, f"v{i}".encode()) for i in range(6)])
    group = f"resume-{uuid.uuid4().hex[:6]}"
    first = broker.consumer(topic, group_id=group)
    first.assign({(topic, 0): BEGINNING})
    drain(first, {(topic, 0): 6})
    first.commit({(topic, 0): 4})
    first.close()
    second = broker.consumer(topic, group_id=group)
    second.subscribe(lambda parts: {}, lambda parts: None)  # no start given: the group's
    records = drain(second, {(topic, 0): 6}, timeout=30)
    second.close()
    assert values(records) == [b"v4", b"v5"]


def test_transaction_commits_records_and_consumer_offsets_together(
    broker: Broker, topic: str
) -> None:
    out = f"{topic}-out"
    broker.create_topic(out)
    s = broker.settings(topic)
    consumer = open_consumer(s, broker.client)
    producer = open_producer(s, f"tx-{topic}", broker.client)
    producer.begin()
    producer.send(out, b"kept", key=b"k", headers=[("h", b"1")])
    producer.send_offsets({(topic, 0): 5}, consumer.group_metadata(), "duckpipe:{}")
    producer.commit()
    producer.begin()
    producer.send(out, b"dropped")
    producer.send_offsets({(topic, 0): 9}, consumer.group_metadata())
    producer.abort()
    producer.close()
    assert consumer.committed([(topic, 0)]) == {(topic, 0): 5}
    assert consumer.committed_metadata([(topic, 0)]) == {(topic, 0): "duckpipe:{}"}
    reader = broker.consumer(out)
    parts = reader.partitions()
    reader.assign({tp: BEGINNING for tp in parts})
    records = drain(reader, reader.end_offsets(parts))
    reader.close()
    consumer.close()
    assert values(records) == [b"kept"]
    assert records.column("_headers").to_pylist() == [[{"key": "h", "value": b"1"}]]


def test_a_newer_producer_fences_the_older_one(broker: Broker, topic: str) -> None:
    s = broker.settings(topic)
    old = open_producer(s, f"fence-{topic}", broker.client)
    old.begin()
    old.send(topic, b"zombie")
    new = open_producer(s, f"fence-{topic}", broker.client)  # init_transactions fences `old`
    with pytest.raises(StreamFenced):
        old.commit()
    new.begin()
    new.send(topic, b"alive")
    new.commit()
    new.close()
    consumer = open_consumer(s, broker.client)
    parts = consumer.partitions()
    consumer.assign({tp: BEGINNING for tp in parts})
    records = drain(consumer, consumer.end_offsets(parts))
    consumer.close()
    assert values(records) == [b"alive"]


def test_a_missing_topic_is_named_with_a_suggestion(broker: Broker, topic: str) -> None:
    consumer = broker.consumer(topic[:-1] + "x" if not topic.endswith("x") else topic[:-1] + "y")
    with pytest.raises(SourceError) as caught:
        consumer.partitions()
    consumer.close()
    assert "does not exist" in caught.value.message
    assert topic in (caught.value.hint or "")


def test_a_pattern_reads_every_matching_topic(broker: Broker, topic: str) -> None:
    other = f"{topic}-b"
    broker.create_topic(other)
    broker.create_topic(f"un{topic}")
    consumer = open_consumer(
        KafkaSettings(bootstrap=broker.bootstrap, pattern=f"{topic}(-b)?"), broker.client
    )
    assert consumer.partitions() == [(topic, 0), (topic, 1), (other, 0)]
    consumer.close()
