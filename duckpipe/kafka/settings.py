"""How to reach a broker and what to read, library-neutral, from a ``kafka`` source's config.

>>> from duckpipe.config import SourceConfig
>>> s = kafka_settings(SourceConfig(uri="kafka://h1:9092,h2:9092/clicks"), name="clicks")
>>> (s.bootstrap, s.topics, s.group_id)
('h1:9092,h2:9092', ('clicks',), 'duckpipe.clicks')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ConfigError

if TYPE_CHECKING:
    from duckpipe.config import SourceConfig


@dataclass(frozen=True)
class KafkaSettings:
    """How to reach the broker and which records to read; library-neutral.

    ``options`` are extra client settings in Kafka's dotted names
    (``session.timeout.ms``); the kafka-python backend translates them.
    """

    bootstrap: str
    topics: tuple[str, ...] = ()
    pattern: str | None = None
    group_id: str = "duckpipe"
    instance_id: str | None = None
    client_id: str = "duckpipe"
    start: str = "earliest"
    max_poll_records: int = 10_000
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        what = f"pattern '{self.pattern}'" if self.pattern else ", ".join(self.topics)
        return f"{what} on {self.bootstrap}"


def bootstrap_of(uri: str, *, where: str) -> tuple[str, list[str]]:
    """``kafka://h1:9092,h2:9092[/topic,...]`` -> (bootstrap servers, topics from the path)."""
    if not uri.startswith("kafka://"):
        raise ConfigError(
            f"not a Kafka URI: {uri}",
            where=where,
            hint="write kafka://host:port, e.g. kafka://localhost:9092",
        )
    rest = uri[len("kafka://") :]
    servers, _, path = rest.partition("/")
    if not servers or any(":" not in s for s in servers.split(",")):
        raise ConfigError(
            f"Kafka URI without host:port: {uri}",
            where=where,
            hint="write kafka://host:port (several brokers: kafka://h1:9092,h2:9092)",
        )
    return servers, [t for t in path.split(",") if t]


def kafka_settings(
    cfg: SourceConfig,
    *,
    name: str = "kafka",
    group_id: str | None = None,
    instance_id: str | None = None,
    start: str = "earliest",
    max_poll_records: int = 10_000,
) -> KafkaSettings:
    """Library-neutral consumer settings for a ``kafka`` source."""
    where = f"sources.{name}"
    bootstrap, path_topics = bootstrap_of(cfg.uri, where=f"{where}.uri")
    topics = tuple(cfg.topics or path_topics)
    if not topics and not cfg.topic_pattern:
        raise ConfigError(
            f"Kafka source '{name}' names no topic",
            where=where,
            hint="add topics: [name, ...] or topic_pattern: 'regex'",
        )
    return KafkaSettings(
        bootstrap=bootstrap,
        topics=topics,
        pattern=cfg.topic_pattern,
        group_id=group_id or cfg.group_id or f"duckpipe.{name}",
        instance_id=instance_id,
        client_id=f"duckpipe.{name}",
        start=start,
        max_poll_records=max_poll_records,
        options={k: v for k, v in cfg.options.items()},
    )
