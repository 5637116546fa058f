"""What a stream's configuration points at: its Kafka source, its consumer group, its keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.core.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import SourceConfig, StreamConfig
    from duckpipe.project import Project


def stream_config(project: Project, name: str) -> StreamConfig:
    streams = project.config.streams
    if name not in streams:
        raise ConfigError(
            f"no stream named '{name}'",
            where="streams",
            hint=did_you_mean_or_list(name, list(streams), "streams"),
        )
    return streams[name]


def stream_group(source: SourceConfig, stream: str) -> str:
    """The stream's consumer group: one per stream, so two streams of a source both get every record."""
    return f"{source.group_id}.{stream}" if source.group_id else f"duckpipe.{stream}"


def static_member(source: SourceConfig, stream: str) -> str:
    """The stream's ``group.instance.id``: its name and a digest of what it subscribes to.

    A static member does not leave its group on close. Were the id the stream's name
    alone, a run with changed ``topics:`` would rejoin as the old member and be handed
    the old topics' partitions; a new subscription is a new member instead.

    >>> from duckpipe.config import SourceConfig
    >>> static_member(SourceConfig(uri="kafka://h:9092", topics=["b", "a"]), "clicks")
    'duckpipe.clicks.1eb7c54d'
    """
    import hashlib

    from duckpipe.kafka.settings import bootstrap_of

    topics = sorted(source.topics or bootstrap_of(source.uri, where=f"streams.{stream}")[1])
    what = f"pattern:{source.topic_pattern}" if source.topic_pattern else ",".join(topics)
    return f"duckpipe.{stream}.{hashlib.sha256(what.encode()).hexdigest()[:8]}"


def kafka_source(project: Project, name: str, config: StreamConfig) -> SourceConfig:
    sources = project.config.sources
    if config.source not in sources:
        raise ConfigError(
            f"stream '{name}' reads source '{config.source}', which is not defined",
            where=f"streams.{name}.source",
            hint=did_you_mean_or_list(config.source, list(sources)),
        )
    source = sources[config.source]
    if source.resolved_type() != "kafka":
        raise ConfigError(
            f"stream '{name}' reads source '{config.source}', which is not a Kafka source",
            where=f"streams.{name}.source",
            hint="a stream's source has a kafka://host:port uri and topics",
        )
    return source


def did_you_mean_or_list(name: str, names: list[str], what: str = "sources") -> str:
    from duckpipe.core.errors import did_you_mean

    return did_you_mean(name, names) or f"{what} defined: {', '.join(names) or 'none'}"


def present_keys(keys: list[str], output: pa.Table, stream: str) -> list[str]:
    missing = [k for k in keys if k not in output.column_names]
    if missing:
        raise ConfigError(
            f"stream '{stream}' upserts by {', '.join(keys)}, but its output has no column "
            f"'{missing[0]}'",
            where=f"streams.{stream}.sql",
            hint="keep the key columns (and window_start, _topic/_partition/_offset) in the SELECT",
        )
    return keys
