"""A client library's plain consume loop, alone in its own Python process.

What a user gets from the library with nothing else loaded: this file imports only
the standard library and the one client (no duckpipe, DuckDB, Arrow or deltalake), so
Python's cyclic garbage collector has only the loop's own objects to scan. It reads
``count`` messages from the beginning of ``topic``, touching every value, and prints
one JSON line:

- ``first_to_last_s`` / ``first_to_last_messages``: from the return of the first call
  that brought messages to the last message (the messages of that first call are not
  counted: they arrived before the clock started);
- ``connect_to_last_s``: from creating the consumer to the last message;
- ``gc_tracked_objects``: objects the cyclic collector tracks, after the imports.

    python benchmarks/streaming/raw_loop.py confluent-kafka|kafka-python BOOTSTRAP TOPIC COUNT PARTITIONS
"""

from __future__ import annotations

import gc
import json
import sys
import time


def confluent(bootstrap: str, topic: str, count: int, partitions: int) -> dict[str, float]:
    from confluent_kafka import Consumer, TopicPartition

    tracked = len(gc.get_objects())
    started = time.perf_counter()
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"raw-{time.time()}",
            "enable.auto.commit": False,
            "queued.min.messages": 1_000_000,  # the library at its best: a deep prefetch
            "fetch.queue.backoff.ms": 20,  # refilled as soon as there is room (as in duckpipe)
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen = first_count = 0
    first = 0.0
    while seen < count:
        for m in consumer.consume(10_000, 1.0):
            if m.error() is None and m.value() is not None:
                seen += 1
        if not first_count and seen:
            first, first_count = time.perf_counter(), seen
    finished = time.perf_counter()
    consumer.close()
    return _result(started, first, finished, count, first_count, tracked)


def kafka_python(bootstrap: str, topic: str, count: int, partitions: int) -> dict[str, float]:
    from kafka import KafkaConsumer, TopicPartition

    tracked = len(gc.get_objects())
    started = time.perf_counter()
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_poll_records=10_000,
        max_partition_fetch_bytes=10 * 1024 * 1024,
    )
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
    consumer.seek_to_beginning()
    seen = first_count = 0
    first = 0.0
    while seen < count:
        for records in consumer.poll(1000, max_records=10_000).values():
            seen += sum(1 for r in records if r.value is not None)
        if not first_count and seen:
            first, first_count = time.perf_counter(), seen
    finished = time.perf_counter()
    consumer.close()
    return _result(started, first, finished, count, first_count, tracked)


def _result(
    started: float, first: float, finished: float, count: int, first_count: int, tracked: int
) -> dict[str, float]:
    return {
        "first_to_last_s": finished - first,
        "first_to_last_messages": count - first_count,
        "connect_to_last_s": finished - started,
        "gc_tracked_objects": tracked,
    }


if __name__ == "__main__":
    client, bootstrap, topic, count, partitions = sys.argv[1:6]
    loop = confluent if client == "confluent-kafka" else kafka_python
    print(json.dumps(loop(bootstrap, topic, int(count), int(partitions))))
