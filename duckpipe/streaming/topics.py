"""A stream's Kafka outputs — the derived topic and the DLQ topic — exactly once.

One producer transaction per micro-batch holds the batch's derived messages
(``topic:``), its rejects (``dlq_topic:``) and the consumer offsets of the batch end
(``send_offsets``); it commits *before* the lake commit. The group's committed
offsets therefore say up to where the topics are complete (``recorded``), and the
lake's position says up to where the lake is complete. The transactional id is
``duckpipe.<stream>``: a new instance fences the old one, whose next transaction
fails (``StreamFenced``: it stops).

A crash between the two commits leaves the lake one batch behind the topics. On
restart the runner cuts the batches at ``recorded``: no batch holds records on both
sides of it. Records below it are processed and committed to the lake but not
published again (no transaction at all); the rest is published as usual. Plain and
``sql:`` streams need nothing more, since their output rows need not carry offsets.

Windowed streams also need the state to match: the transaction stores the windows'
watermark in the offsets' metadata (``watermark``). While catching up, the runner
keeps records past ``recorded`` back, the watermark holds still, and the step that
reaches ``recorded`` sets it to the published one, so the re-processed batch emits
the very windows the transaction held (to the lake only) and late events are
decided as before. With emit-on-close (``mode: append``) a window is then published
exactly once; in addition, windows that end at or before the published watermark
are never published again (a replay rebuilding windows from an earlier offset). In
``mode: update`` every batch that touches a window publishes its current value:
read the topic with ``isolation.level=read_committed`` and treat the message key
(``key`` + ``window_start``) as the identity, the newest message winning (a
compacted topic keeps exactly that). A replay re-publishes the updates of the
windows it touches, with the values they already had.

A replay never publishes records below ``recorded`` again, so a derived topic
added to an existing stream gets only what the stream reads from then on.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ConfigError, DuckpipeError, SourceError, StreamError, StreamFenced
from duckpipe.ingest.dlq import after, topic_messages
from duckpipe.streaming.messages import encode, key_columns

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import SourceConfig, StreamConfig
    from duckpipe.kafka.client import Consumer, TransactionalProducer
    from duckpipe.kafka.positions import Offsets, TopicPartition
    from duckpipe.kafka.settings import KafkaSettings

_GROUP_MOVED = ("IllegalGeneration", "ILLEGAL_GENERATION", "RebalanceInProgress", "REBALANCE")
"""The consumer group rebalanced under the transaction: retried with the new generation."""
_META = "duckpipe:"
"""Prefix of the offsets' metadata duckpipe writes (``duckpipe:{"watermark_us": ...}``)."""


def check_topics(name: str, config: StreamConfig, source: SourceConfig) -> None:
    """Output topics that would feed the stream its own output, or mix two outputs."""
    outputs = {"topic": config.topic, "dlq_topic": config.dlq_topic}
    for field, topic in outputs.items():
        if topic is None:
            continue
        pattern = source.topic_pattern
        read = topic in source.topics or bool(pattern and re.fullmatch(pattern, topic))
        if read:
            raise ConfigError(
                f"stream '{name}' would write to '{topic}', which it reads itself",
                where=f"streams.{name}.{field}",
                hint="write to another topic; a stream reading its own output never ends",
            )
    if config.topic is not None and config.topic == config.dlq_topic:
        raise ConfigError(
            f"stream '{name}' writes its output and its rejects to the same topic '{config.topic}'",
            where=f"streams.{name}.topic",
            hint="give the derived topic and the DLQ topic different names",
        )


class TopicOutputs:
    """The transactional producer of one stream and where its topics are complete."""

    def __init__(self, stream: str, config: StreamConfig, producer: TransactionalProducer) -> None:
        self.stream = stream
        self.config = config
        self.producer = producer
        self.key = key_columns(config)
        self.recorded: Offsets = {}
        """The group's committed offsets: the topics hold everything before them."""
        self.watermark: int | None = None
        """The windows' watermark of the last published transaction."""
        self.published = 0

    @classmethod
    def open(
        cls,
        stream: str,
        config: StreamConfig,
        settings: KafkaSettings,
        client: str,
        retrying: Callable[[Callable[[], Any], str], Any],
    ) -> TopicOutputs:
        """Check the output topics exist, then start the producer (fencing older instances)."""
        from duckpipe.kafka.backends import open_consumer, open_producer

        for field in ("topic", "dlq_topic"):
            topic = getattr(config, field)
            if topic is None:
                continue
            # its own group and no instance id: closing it must not touch the stream's group
            probe_settings = replace(
                settings,
                topics=(topic,),
                pattern=None,
                group_id=f"{settings.group_id}.probe",
                instance_id=None,
            )
            probe = open_consumer(probe_settings, client)
            try:
                retrying(probe.partitions, f"looking up topic '{topic}'")
            except SourceError as exc:
                if exc.retryable:
                    raise
                raise StreamError(
                    f"topic '{topic}' does not exist on {settings.bootstrap}",
                    where=f"streams.{stream}.{field}",
                    hint=f"create it first (kafka-topics.sh --create --topic {topic}); "
                    "duckpipe does not create output topics",
                ) from exc
            finally:
                with contextlib.suppress(Exception):
                    probe.close()
        producer = retrying(
            lambda: open_producer(settings, f"duckpipe.{stream}", client),
            "starting the transactional producer",
        )
        return cls(stream, config, producer)

    def resume(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Read where the topics are complete: the offsets (and watermark) of the last transaction."""
        if not partitions:
            return
        group = consumer.committed(partitions)
        self.recorded = {tp: o for tp, o in group.items() if o is not None}
        marks = [_watermark(m) for m in consumer.committed_metadata(partitions).values()]
        found = [m for m in marks if m is not None]
        self.watermark = max(found) if found else None

    def publish(
        self,
        output: pa.Table,
        rejects: pa.Table,
        batch_end: Offsets,
        group_metadata: Any,
        watermark: int | None = None,
    ) -> int:
        """One transaction: derived messages, DLQ rejects, the consumer offsets of ``batch_end``."""
        messages = []
        if self.config.topic is not None:
            messages = encode(
                self._unpublished_windows(output),
                key=self.key,
                sql=self.config.sql,
                stream=self.stream,
                where=f"streams.{self.stream}.topic",
            )
        dead = after(rejects, self.recorded) if self.config.dlq_topic else rejects.slice(0, 0)
        offsets = {tp: max(o, self.recorded.get(tp, o)) for tp, o in batch_end.items()}
        metadata = _META + json.dumps({"watermark_us": watermark}) if watermark is not None else ""
        try:
            self._transaction(messages, dead, offsets, group_metadata, metadata)
        except StreamFenced as exc:
            raise StreamFenced(
                f"another instance of stream '{self.stream}' took over its Kafka transactions "
                f"(transactional id duckpipe.{self.stream}): {exc.message}; this instance stops",
                where=f"streams.{self.stream}",
                hint="run one instance per stream; the other instance carries on",
            ) from exc
        except DuckpipeError as exc:
            regrouped = any(code in exc.message for code in _GROUP_MOVED)
            raise StreamError(
                f"the Kafka transaction of stream '{self.stream}' failed: {exc.message}",
                where=f"streams.{self.stream}.{'topic' if self.config.topic else 'dlq_topic'}",
                hint=exc.hint
                or "check the broker and that the output topics exist and accept writes",
                retryable=exc.retryable or regrouped,
            ) from exc
        self.recorded = {**self.recorded, **offsets}
        if watermark is not None:
            self.watermark = watermark
        self.published += len(messages)
        return len(messages)

    def _transaction(
        self,
        messages: list[Any],
        dead: pa.Table,
        offsets: Offsets,
        group_metadata: Any,
        metadata: str,
    ) -> None:
        producer = self.producer
        producer.begin()
        try:
            if self.config.topic is not None:
                for m in messages:
                    producer.send(self.config.topic, m.value, key=m.key, headers=list(m.headers))
            if self.config.dlq_topic is not None:
                for letter in topic_messages(dead, self.stream):
                    producer.send(
                        self.config.dlq_topic, letter.value, key=letter.key, headers=letter.headers
                    )
            producer.send_offsets(offsets, group_metadata, metadata)
            producer.commit()
        except BaseException:
            with contextlib.suppress(Exception):  # the original error says what went wrong
                producer.abort()
            raise

    def _unpublished_windows(self, output: pa.Table) -> pa.Table:
        """Emit-on-close windows ending after the published watermark (the rest were published)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        window = self.config.window
        if window is None or self.config.mode != "append" or self.watermark is None:
            return output
        micros = pa.timestamp("us", tz="UTC")
        if "window_end" in output.column_names:
            ends = output.column("window_end").cast(micros).cast(pa.int64())
        elif "window_start" in output.column_names and window.type != "session":
            starts = output.column("window_start").cast(micros).cast(pa.int64())
            ends = pc.add(starts, round((window.size or 0) * 1_000_000))
        else:
            return output
        return output.filter(pc.greater(ends, self.watermark))


def _watermark(metadata: str | None) -> int | None:
    if not metadata or not metadata.startswith(_META):
        return None
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        value = json.loads(metadata[len(_META) :]).get("watermark_us")
        return int(value) if value is not None else None
    return None
