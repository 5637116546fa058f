"""Shared builders for the streaming tests: raw Kafka records, projects, producers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from duckpipe.kafka.records import raw_table

BASE_MS = 1_700_000_000_000


def raw(
    values: Sequence[bytes | dict[str, Any] | None],
    *,
    topic: str = "t",
    partition: int = 0,
    first_offset: int = 0,
    timestamps: Sequence[int] | None = None,
) -> pa.Table:
    """Polled records as a backend would return them; dict values are JSON-encoded."""
    encoded = [json.dumps(v).encode() if isinstance(v, dict) else v for v in values]
    n = len(encoded)
    return raw_table(
        [topic] * n,
        [partition] * n,
        list(range(first_offset, first_offset + n)),
        list(timestamps) if timestamps is not None else [BASE_MS] * n,
        [str(i).encode() for i in range(first_offset, first_offset + n)],
        encoded,
        [[("origin", b"test")]] * n,
    )


def write_project(root: Path, body: str) -> Path:
    """A project folder holding ``duckpipe.yml`` with ``body``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "duckpipe.yml").write_text(body)
    return root


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
    # The create call returns once the controller has the topic; the broker's metadata (what
    # a consumer lists) can lag behind it. Wait until every partition has a leader.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        topic = admin.list_topics(topic=name, timeout=5).topics.get(name)
        if (
            topic is not None
            and topic.error is None
            and len(topic.partitions) == partitions
            and all(p.leader >= 0 for p in topic.partitions.values())
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"topic {name} has no leader for every partition after 30 s")


def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[int, bytes | dict[str, Any]]],
    *,
    transactional_id: str | None = None,
    abort: bool = False,
    headers: list[tuple[str, bytes]] | None = None,
) -> int:
    """Produce ``(partition, value)`` pairs (in one transaction when an id is given)."""
    from confluent_kafka import Producer

    config: dict[str, Any] = {"bootstrap.servers": bootstrap, "linger.ms": 5}
    if transactional_id:
        config["transactional.id"] = transactional_id
    producer = Producer(config)
    if transactional_id:
        producer.init_transactions(30)
        producer.begin_transaction()
    count = 0
    for partition, value in messages:
        body = json.dumps(value).encode() if isinstance(value, dict) else value
        while True:
            try:
                producer.produce(
                    topic, body, key=str(count).encode(), partition=partition, headers=headers
                )
                break
            except BufferError:
                producer.poll(0.05)
        count += 1
    producer.flush(30)
    if transactional_id:
        if abort:
            producer.abort_transaction(30)
        else:
            producer.commit_transaction(30)
    return count
