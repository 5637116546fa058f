"""One behaviour suite, run against both Kafka client backends and the real broker."""

from __future__ import annotations

import time
import uuid

import pyarrow as pa
import pytest

from duckpipe.core.errors import StreamFenced
from duckpipe.streaming.backends import (
    BEGINNING,
    KafkaSettings,
    open_consumer,
    open_producer,
    raw_schema,
)
from tests.streaming.helpers import create_topic, produce

pytestmark = pytest.mark.kafka
CLIENTS = ["confluent-kafka", "kafka-python"]


@pytest.fixture(params=CLIENTS)
def client(request) -> str:
    return request.param


@pytest.fixture
def topic(kafka_service) -> str:
    name = f"backend-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_service.bootstrap, name, partitions=2)
    return name


def settings(kafka_service, topic: str, **kw) -> KafkaSettings:
    return KafkaSettings(
        bootstrap=kafka_service.bootstrap,
        topics=(topic,),
        group_id=f"g-{uuid.uuid4().hex[:6]}",
        **kw,
    )


def drain(consumer, until: dict, timeout: float = 20) -> pa.Table:
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


def test_reads_only_committed_records_with_kafka_metadata(kafka_service, topic, client):
    boot = kafka_service.bootstrap
    headers = [("trace", b"abc")]
    produce(
        boot,
        topic,
        [(i % 2, {"i": i}) for i in range(6)],
        transactional_id=f"tx-{topic}",
        headers=headers,
    )
    produce(
        boot,
        topic,
        [(i % 2, {"i": 100 + i}) for i in range(3)],
        transactional_id=f"tx-{topic}",
        abort=True,
    )
    from confluent_kafka import Producer

    open_tx = Producer({"bootstrap.servers": boot, "transactional.id": f"open-{topic}"})
    open_tx.init_transactions(30)
    open_tx.begin_transaction()
    open_tx.produce(topic, b'{"i": 999}', partition=0)
    open_tx.flush(10)
    try:
        consumer = open_consumer(settings(kafka_service, topic), client)
        parts = consumer.partitions()
        assert parts == [(topic, 0), (topic, 1)]
        ends = consumer.end_offsets(
            parts
        )  # the last stable offsets: the open transaction is not in them
        assert ends == {(topic, 0): 7, (topic, 1): 6}  # 3 + 2 aborted + commit/abort markers
        consumer.assign({tp: BEGINNING for tp in parts})
        records = drain(consumer, ends)
        consumer.close()
    finally:
        open_tx.abort_transaction(30)
    assert records.schema == raw_schema()
    values = sorted(records.column("_value").to_pylist())
    assert values == sorted(f'{{"i": {i}}}'.encode() for i in range(6))
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


def test_records_without_headers_have_null_headers_and_poll_leaves_the_collector_as_it_was(
    kafka_service, topic, client
):
    import gc

    boot = kafka_service.bootstrap
    produce(boot, topic, [(0, {"i": 0})], headers=[("trace", b"a")])
    produce(boot, topic, [(0, {"i": 1}), (1, {"i": 2})])
    ends = {(topic, 0): 2, (topic, 1): 1}
    seen = {}
    for collector_on in (True, False):
        consumer = open_consumer(settings(kafka_service, topic), client)
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


def test_beginning_end_and_time_lookups(kafka_service, topic, client):
    produce(kafka_service.bootstrap, topic, [(0, {"i": i}) for i in range(4)])
    consumer = open_consumer(settings(kafka_service, topic), client)
    parts = consumer.partitions()
    assert consumer.beginning_offsets(parts) == {(topic, 0): 0, (topic, 1): 0}
    assert consumer.end_offsets(parts) == {(topic, 0): 4, (topic, 1): 0}
    past = consumer.offsets_for_time(parts, 0)
    future = consumer.offsets_for_time(parts, int(time.time() * 1000) + 3_600_000)
    consumer.close()
    assert past == {(topic, 0): 0, (topic, 1): 0}
    assert future == {(topic, 0): 4, (topic, 1): 0}


def test_subscribe_starts_where_the_assignment_callback_says(kafka_service, topic, client):
    produce(kafka_service.bootstrap, topic, [(0, {"i": i}) for i in range(5)])
    consumer = open_consumer(settings(kafka_service, topic), client)
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


def test_transaction_commits_records_and_consumer_offsets_together(kafka_service, topic, client):
    out = f"{topic}-out"
    create_topic(kafka_service.bootstrap, out)
    s = settings(kafka_service, topic)
    consumer = open_consumer(s, client)
    producer = open_producer(s, f"tx-{topic}", client)
    producer.begin()
    producer.send(out, b"kept", key=b"k", headers=[("h", b"1")])
    producer.send_offsets({(topic, 0): 5}, consumer.group_metadata())
    producer.commit()
    producer.begin()
    producer.send(out, b"dropped")
    producer.send_offsets({(topic, 0): 9}, consumer.group_metadata())
    producer.abort()
    producer.close()
    assert consumer.committed([(topic, 0)]) == {(topic, 0): 5}
    reader = open_consumer(settings(kafka_service, out), client)
    parts = reader.partitions()
    reader.assign({tp: BEGINNING for tp in parts})
    records = drain(reader, reader.end_offsets(parts))
    reader.close()
    consumer.close()
    assert records.column("_value").to_pylist() == [b"kept"]
    assert records.column("_headers").to_pylist() == [[{"key": "h", "value": b"1"}]]


def test_a_newer_producer_fences_the_older_one(kafka_service, topic, client):
    s = settings(kafka_service, topic)
    old = open_producer(s, f"fence-{topic}", client)
    old.begin()
    old.send(topic, b"zombie")
    new = open_producer(s, f"fence-{topic}", client)  # init_transactions fences `old`
    with pytest.raises(StreamFenced):
        old.commit()
    new.begin()
    new.send(topic, b"alive")
    new.commit()
    new.close()
    consumer = open_consumer(s, client)
    parts = consumer.partitions()
    consumer.assign({tp: BEGINNING for tp in parts})
    records = drain(consumer, consumer.end_offsets(parts))
    consumer.close()
    assert records.column("_value").to_pylist() == [b"alive"]
