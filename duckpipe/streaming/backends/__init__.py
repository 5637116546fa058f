"""Kafka client backends behind one interface; confluent-kafka when installed, else kafka-python."""

from __future__ import annotations

import importlib.util
from typing import Any

from duckpipe.core.errors import ConfigError, MissingDependency
from duckpipe.streaming.backends.base import (
    BEGINNING,
    END,
    Consumer,
    KafkaSettings,
    Offsets,
    TopicPartition,
    TransactionalProducer,
    raw_schema,
)

CLIENTS = ("confluent-kafka", "kafka-python")
_MODULES = {"confluent-kafka": "confluent_kafka", "kafka-python": "kafka"}


def installed_clients() -> list[str]:
    """The client libraries importable here, fastest first."""
    return [c for c in CLIENTS if importlib.util.find_spec(_MODULES[c]) is not None]


def choose_client(client: str = "auto") -> str:
    """``auto`` -> the fastest installed library; a named one must be installed."""
    if client == "auto":
        found = installed_clients()
        if not found:
            raise MissingDependency("confluent-kafka", "fast", feature="reading from Kafka")
        return found[0]
    if client not in CLIENTS:
        raise ConfigError(
            f"unknown Kafka client '{client}'",
            where="client",
            hint="use auto, confluent-kafka or kafka-python",
        )
    if client not in installed_clients():
        raise MissingDependency(
            client, "fast" if client == "confluent-kafka" else None, feature=f"client: {client}"
        )
    return client


def open_consumer(
    settings: KafkaSettings, client: str = "auto", *, on_error: Any = None
) -> Consumer:
    """A read_committed consumer for ``settings`` using ``client``."""
    if choose_client(client) == "confluent-kafka":
        from duckpipe.streaming.backends.confluent import ConfluentConsumer

        return ConfluentConsumer(settings, on_error=on_error)
    from duckpipe.streaming.backends.kafka_python import KafkaPythonConsumer

    return KafkaPythonConsumer(settings, on_error=on_error)


def open_producer(
    settings: KafkaSettings, transactional_id: str, client: str = "auto"
) -> TransactionalProducer:
    """A transactional producer; starting it fences any older producer with the same id."""
    if choose_client(client) == "confluent-kafka":
        from duckpipe.streaming.backends.confluent import ConfluentTransactionalProducer

        return ConfluentTransactionalProducer(settings, transactional_id)
    from duckpipe.streaming.backends.kafka_python import KafkaPythonTransactionalProducer

    return KafkaPythonTransactionalProducer(settings, transactional_id)


__all__ = [
    "BEGINNING",
    "CLIENTS",
    "END",
    "Consumer",
    "KafkaSettings",
    "Offsets",
    "TopicPartition",
    "TransactionalProducer",
    "choose_client",
    "installed_clients",
    "open_consumer",
    "open_producer",
    "raw_schema",
]
