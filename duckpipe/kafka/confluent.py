"""The confluent-kafka (librdkafka) backend: the fast one, and the default when installed."""

from __future__ import annotations

import contextlib
import logging
import operator
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import StreamError, StreamFenced, TransientSourceError
from duckpipe.kafka.client import OnAssign, OnRevoke, missing_topic
from duckpipe.kafka.positions import Offsets, TopicPartition
from duckpipe.kafka.records import raw_schema, raw_table
from duckpipe.kafka.settings import KafkaSettings

if TYPE_CHECKING:
    import pyarrow as pa

CLIENT = "confluent-kafka"
CONSUME_CHUNK = 10_000
"""Most messages one ``poll`` takes. Each is a Python object until it is in Arrow; taking
100,000 at once cost about 0.4 us/message more CPU than 10,000 at a time."""
FETCH_QUEUE_BACKOFF = "fetch.queue.backoff.ms"
FETCH_QUEUE_BACKOFF_MS = 20
"""How soon librdkafka fetches again after its prefetch queue was full (its default: 1000)."""
_timestamp_ms = operator.itemgetter(1)
"""``Message.timestamp()`` is ``(type, milliseconds)``."""
# librdkafka reports these and then recovers on its own (reconnects with backoff)
_TRANSIENT = ("_TRANSPORT", "_ALL_BROKERS_DOWN", "_RESOLVE", "_TIMED_OUT", "_MSG_TIMED_OUT")


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while messages become Arrow columns.

    The message objects are freed by reference counting; the collector would only
    scan them (and everything else alive) again and again while they are created.
    """
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _logger() -> logging.Logger:
    """librdkafka's log, kept off the terminal: each failed connect attempt is a line there;
    the error callback reports outages once, on the console and the status line."""
    logger = logging.getLogger("duckpipe.kafka")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


def _client_config(settings: KafkaSettings) -> dict[str, Any]:
    return {
        "logger": _logger(),  # librdkafka would print to stderr
        "bootstrap.servers": settings.bootstrap,
        "client.id": settings.client_id,
        "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": 5000,
        **settings.options,
    }


class ConfluentConsumer:
    """A librdkafka consumer: read_committed, no auto commit, offsets from the caller."""

    client = CLIENT

    def __init__(self, settings: KafkaSettings, *, on_error: Any = None) -> None:
        import confluent_kafka as ck

        self.settings = settings
        self._ck = ck
        self._on_error = on_error
        config = {
            **_client_config(settings),
            "group.id": settings.group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": settings.start,
            "session.timeout.ms": 10_000,
            "heartbeat.interval.ms": 1_000,
            "fetch.wait.max.ms": 100,
            # prefetch generously: the default (100k messages) stalls fast consumers
            "queued.min.messages": 1_000_000,
            # and fetch again soon once the consumer has made room: with the default (1 s)
            # a full prefetch queue (64 MB) sends the fetcher to sleep for a second, and a
            # consumer that drains it faster than that waits for messages the broker has
            FETCH_QUEUE_BACKOFF: FETCH_QUEUE_BACKOFF_MS,
            "error_cb": self._error,
            "on_commit": self._committed,
        }
        if settings.instance_id:
            config["group.instance.id"] = settings.instance_id
        config.update({k: v for k, v in settings.options.items() if k not in config})
        self._consumer = ck.Consumer(config)
        self._fatal: Exception | None = None

    # -- errors ------------------------------------------------------------------
    def _error(self, err: Any) -> None:
        codes = self._ck.KafkaError
        if err.fatal() or err.code() == codes._FATAL:
            fenced = err.code() == codes.FENCED_INSTANCE_ID or "fenced" in err.str().lower()
            kind = StreamFenced if fenced else StreamError
            hint = "another instance of this stream took over" if fenced else None
            self._fatal = kind(
                f"Kafka consumer failed: {err.str()}", where=self.settings.bootstrap, hint=hint
            )
        elif self._on_error is not None:
            self._on_error(err.str())

    def _committed(self, err: Any, partitions: Any) -> None:
        if err is not None and self._on_error is not None:
            self._on_error(f"group offset commit failed: {err.str()}", False)

    def _raise_fatal(self) -> None:
        if self._fatal is not None:
            raise self._fatal

    # -- assignment --------------------------------------------------------------
    def subscribe(self, on_assign: OnAssign, on_revoke: OnRevoke) -> None:
        ck = self._ck

        def assigned(consumer: Any, partitions: list[Any]) -> None:
            starts = on_assign([(p.topic, p.partition) for p in partitions])
            for p in partitions:
                p.offset = starts.get((p.topic, p.partition), ck.OFFSET_INVALID)
            consumer.assign(partitions)

        def revoked(consumer: Any, partitions: list[Any]) -> None:
            on_revoke([(p.topic, p.partition) for p in partitions])
            consumer.unassign()

        topics = (
            [f"^{self.settings.pattern}"] if self.settings.pattern else list(self.settings.topics)
        )
        self._consumer.subscribe(topics, on_assign=assigned, on_revoke=revoked, on_lost=revoked)

    def assign(self, offsets: Offsets) -> None:
        ck = self._ck
        self._consumer.assign([ck.TopicPartition(t, p, o) for (t, p), o in offsets.items()])

    def partitions(self) -> list[TopicPartition]:
        import re

        try:
            metadata = self._consumer.list_topics(timeout=10)
        except self._ck.KafkaException as exc:
            raise TransientSourceError(
                f"cannot read topic metadata: {exc}", where=self.settings.bootstrap
            ) from exc
        if self.settings.pattern:
            pattern = re.compile(self.settings.pattern)
            names = sorted(t for t in metadata.topics if pattern.fullmatch(t))
        else:
            names = list(self.settings.topics)
        found: list[TopicPartition] = []
        for name in names:
            topic = metadata.topics.get(name)
            if topic is None or topic.error is not None:
                raise missing_topic(name, self.settings.bootstrap, metadata.topics)
            found.extend((name, p) for p in sorted(topic.partitions))
        return found

    def assignment(self) -> list[TopicPartition]:
        return [(p.topic, p.partition) for p in self._consumer.assignment()]

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self._consumer.seek(self._ck.TopicPartition(tp[0], tp[1], offset))

    # -- reading -----------------------------------------------------------------
    def poll(self, max_records: int, timeout: float) -> pa.Table | None:
        size = min(max_records, CONSUME_CHUNK)
        with _collector_paused():
            messages = self._consumer.consume(num_messages=size, timeout=timeout)
            self._raise_fatal()
            table = self._table(messages) if messages else None
            # freed here, while the collector is still off: once it is back on, the next
            # allocation would run a young-generation pass over every live message
            del messages
        return table

    def _table(self, messages: list[Any]) -> pa.Table | None:
        message = self._ck.Message
        if any(map(message.error, messages)):
            good = [m for m in messages if m.error() is None]
            for bad in (m for m in messages if m.error() is not None):
                self._error(bad.error())
            self._raise_fatal()
            if not good:
                return None
            messages = good
        return self._columns(messages)

    def _columns(self, messages: list[Any]) -> pa.Table:
        """Polled messages -> ``raw_schema()``; one C-level pass per column, no per-message Python."""
        import numpy as np
        import pyarrow as pa

        message, n = self._ck.Message, len(messages)
        topics = self.settings.topics
        if len(topics) == 1 and not self.settings.pattern:
            topic: Any = pa.repeat(pa.scalar(topics[0], pa.string()), n)
        else:
            topic = list(map(message.topic, messages))
        headers: Any = list(map(message.headers, messages))
        if headers.count(None) == n:
            headers = pa.nulls(n, raw_schema().field("_headers").type)
        return raw_table(
            topic,
            np.fromiter(map(message.partition, messages), np.int32, n),
            np.fromiter(map(message.offset, messages), np.int64, n),
            np.fromiter(map(_timestamp_ms, map(message.timestamp, messages)), np.int64, n),
            list(map(message.key, messages)),
            list(map(message.value, messages)),
            headers,
        )

    def position(self, tp: TopicPartition) -> int | None:
        [p] = self._consumer.position([self._ck.TopicPartition(tp[0], tp[1])])
        return p.offset if p.offset >= 0 else None

    def beginning_offsets(self, tps: list[TopicPartition]) -> Offsets:
        ck = self._ck
        out = {}
        try:
            for t, p in tps:
                low, _ = self._consumer.get_watermark_offsets(ck.TopicPartition(t, p), timeout=10)
                out[(t, p)] = low
        except ck.KafkaException as exc:
            raise TransientSourceError(
                f"cannot read beginning offsets: {exc}", where=self.settings.bootstrap
            ) from exc
        return out

    def end_offsets(self, tps: list[TopicPartition]) -> Offsets:
        from confluent_kafka.admin import AdminClient, OffsetSpec

        ck = self._ck
        admin = AdminClient(_client_config(self.settings))
        request = {ck.TopicPartition(t, p): OffsetSpec.latest() for t, p in tps}
        futures = admin.list_offsets(request, isolation_level=ck.IsolationLevel.READ_COMMITTED)
        try:
            return {(k.topic, k.partition): f.result().offset for k, f in futures.items()}
        except ck.KafkaException as exc:
            raise TransientSourceError(
                f"cannot read end offsets: {exc}", where=self.settings.bootstrap
            ) from exc

    def offsets_for_time(self, tps: list[TopicPartition], timestamp_ms: int) -> Offsets:
        ck = self._ck
        query = [ck.TopicPartition(t, p, timestamp_ms) for t, p in tps]
        found = self._consumer.offsets_for_times(query, timeout=10)
        ends = self.end_offsets(tps)
        return {
            (f.topic, f.partition): f.offset if f.offset >= 0 else ends[(f.topic, f.partition)]
            for f in found
        }

    def lag(self) -> dict[TopicPartition, int]:
        lags = {}
        positions = self._consumer.position(self._consumer.assignment())
        for p in positions:
            _, high = self._consumer.get_watermark_offsets(p, cached=True)
            if high >= 0 and p.offset >= 0:
                lags[(p.topic, p.partition)] = max(0, high - p.offset)
        return lags

    # -- group offsets -----------------------------------------------------------
    def committed(self, tps: list[TopicPartition]) -> dict[TopicPartition, int | None]:
        ck = self._ck
        found = self._consumer.committed([ck.TopicPartition(t, p) for t, p in tps], timeout=10)
        return {(f.topic, f.partition): f.offset if f.offset >= 0 else None for f in found}

    def committed_metadata(self, tps: list[TopicPartition]) -> dict[TopicPartition, str]:
        ck = self._ck
        found = self._consumer.committed([ck.TopicPartition(t, p) for t, p in tps], timeout=10)
        return {(f.topic, f.partition): f.metadata or "" for f in found}

    def commit(self, offsets: Offsets, *, wait: bool = True) -> None:
        ck = self._ck
        parts = [ck.TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        try:
            if wait:
                self._consumer.commit(offsets=parts, asynchronous=False)
            else:
                self._consumer.commit(offsets=parts, asynchronous=True)
        except ck.KafkaException as exc:
            raise TransientSourceError(f"group offset commit failed: {exc}") from exc

    def reachable(self, timeout: float) -> bool:
        try:
            self._consumer.list_topics(timeout=timeout)
        except self._ck.KafkaException:
            return False
        return True

    def group_metadata(self) -> Any:
        return self._consumer.consumer_group_metadata()

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # already closed
            self._consumer.close()


class ConfluentTransactionalProducer:
    """librdkafka's transactional producer; ``init_transactions`` fences older instances."""

    def __init__(self, settings: KafkaSettings, transactional_id: str) -> None:
        import confluent_kafka as ck

        self._ck = ck
        self._producer = ck.Producer(
            {**_client_config(settings), "transactional.id": transactional_id, "linger.ms": 5}
        )
        self._call(self._producer.init_transactions, 30)

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except self._ck.KafkaException as exc:
            err = exc.args[0]
            if err.code() == self._ck.KafkaError._FENCED:
                raise StreamFenced(
                    f"the transactional producer was fenced: {err.str()}",
                    hint="another instance of this stream is running; this one stops",
                ) from exc
            if err.retriable() or err.txn_requires_abort():
                raise TransientSourceError(f"Kafka transaction failed: {err.str()}") from exc
            raise StreamError(f"Kafka transaction failed: {err.str()}") from exc

    def begin(self) -> None:
        self._call(self._producer.begin_transaction)

    def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        while True:
            try:
                if partition is None:
                    self._producer.produce(topic, value=value, key=key, headers=list(headers or []))
                else:
                    self._producer.produce(
                        topic,
                        value=value,
                        key=key,
                        headers=list(headers or []),
                        partition=partition,
                    )
                return
            except BufferError:
                self._producer.poll(0.05)  # local queue full: let deliveries drain

    def send_offsets(self, offsets: Offsets, group_metadata: Any, metadata: str = "") -> None:
        ck = self._ck
        parts = [ck.TopicPartition(t, p, o, metadata) for (t, p), o in offsets.items()]
        self._call(self._producer.send_offsets_to_transaction, parts, group_metadata, 30)

    def commit(self) -> None:
        self._call(self._producer.commit_transaction, 30)

    def abort(self) -> None:
        self._call(self._producer.abort_transaction, 30)

    def close(self) -> None:
        self._producer.flush(5)
