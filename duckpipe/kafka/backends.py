"""The Kafka client backends, one registry: ``client:`` of a source names one of them.

``auto`` picks the fastest installed library (confluent-kafka, else kafka-python).
``memory`` is the in-process twin (``memory.py``): the same interface and semantics,
no broker; ``auto`` never picks it.
A backend's module (and with it the heavy client library) is imported only when a
consumer or producer is opened.

>>> sorted(BACKENDS)
['confluent-kafka', 'kafka-python', 'memory']
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ConfigError, MissingDependency

if TYPE_CHECKING:
    from duckpipe.kafka.client import Consumer, TransactionalProducer
    from duckpipe.kafka.settings import KafkaSettings


@dataclass(frozen=True)
class Backend:
    """Where a backend lives and what it needs installed."""

    module: str
    """The duckpipe module that implements it."""
    consumer: str
    """Its class implementing ``client.Consumer``."""
    producer: str
    """Its class implementing ``client.TransactionalProducer``."""
    library: str | None = None
    """The client library it wraps (its import name); None: nothing to install."""
    extra: str | None = None
    """The ``pip install duckpipe[extra]`` that brings the library."""

    def installed(self) -> bool:
        return self.library is None or importlib.util.find_spec(self.library) is not None

    def load(self, kind: str) -> Any:
        """The backend's consumer or producer class (``kind``), importing its module now."""
        return getattr(importlib.import_module(self.module), getattr(self, kind))


BACKENDS: dict[str, Backend] = {
    "confluent-kafka": Backend(
        "duckpipe.kafka.confluent",
        "ConfluentConsumer",
        "ConfluentTransactionalProducer",
        library="confluent_kafka",
        extra="fast",
    ),
    "kafka-python": Backend(
        "duckpipe.kafka.kafka_python",
        "KafkaPythonConsumer",
        "KafkaPythonTransactionalProducer",
        library="kafka",
    ),
    "memory": Backend("duckpipe.kafka.memory", "MemoryConsumer", "MemoryTransactionalProducer"),
}
AUTO_ORDER = ("confluent-kafka", "kafka-python")
"""The real client libraries ``auto`` chooses from, fastest first."""


def installed_clients() -> list[str]:
    """The client libraries importable here, fastest first."""
    return [name for name in AUTO_ORDER if BACKENDS[name].installed()]


def choose_client(client: str = "auto") -> str:
    """``auto`` -> the fastest installed library; a named one must be installed."""
    if client == "auto":
        found = installed_clients()
        if not found:
            raise MissingDependency("confluent-kafka", "fast", feature="reading from Kafka")
        return found[0]
    backend = BACKENDS.get(client)
    if backend is None:
        raise ConfigError(
            f"unknown Kafka client '{client}'",
            where="client",
            hint="use auto, " + ", ".join(BACKENDS),
        )
    if not backend.installed():
        raise MissingDependency(client, backend.extra, feature=f"client: {client}")
    return client


def open_consumer(
    settings: KafkaSettings, client: str = "auto", *, on_error: Any = None
) -> Consumer:
    """A read_committed consumer for ``settings`` using ``client``."""
    consumer: Consumer = BACKENDS[choose_client(client)].load("consumer")(
        settings, on_error=on_error
    )
    return consumer


def open_producer(
    settings: KafkaSettings, transactional_id: str, client: str = "auto"
) -> TransactionalProducer:
    """A transactional producer; starting it fences any older producer with the same id."""
    producer: TransactionalProducer = BACKENDS[choose_client(client)].load("producer")(
        settings, transactional_id
    )
    return producer
