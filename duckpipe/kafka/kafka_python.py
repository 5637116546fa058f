"""The kafka-python backend: pure Python, no compiled dependency."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import StreamError, StreamFenced, TransientSourceError
from duckpipe.kafka.client import OnAssign, OnRevoke, missing_topic
from duckpipe.kafka.positions import BEGINNING, END, Offsets, TopicPartition
from duckpipe.kafka.records import raw_table
from duckpipe.kafka.settings import KafkaSettings

if TYPE_CHECKING:
    import pyarrow as pa

CLIENT = "kafka-python"


def _options(settings: KafkaSettings) -> dict[str, Any]:
    """Kafka's dotted setting names (``session.timeout.ms``) as kafka-python keywords."""
    return {key.replace(".", "_"): value for key, value in settings.options.items()}


def _translate(exc: Exception, what: str, where: str) -> Exception:
    import kafka.errors as ke

    if isinstance(exc, ke.FencedInstanceIdError | ke.ProducerFencedError):
        return StreamFenced(
            f"{what}: {exc}", where=where, hint="another instance of this stream took over"
        )
    if isinstance(exc, ke.KafkaError) and exc.retriable:
        return TransientSourceError(f"{what}: {exc}", where=where)
    if isinstance(exc, ke.KafkaConnectionError | ke.KafkaTimeoutError | ConnectionError):
        return TransientSourceError(f"{what}: {exc}", where=where)
    return StreamError(f"{what}: {exc}", where=where)


class KafkaPythonConsumer:
    """A kafka-python consumer: read_committed, no auto commit, offsets from the caller."""

    client = CLIENT

    def __init__(self, settings: KafkaSettings, *, on_error: Any = None) -> None:
        from kafka import KafkaConsumer

        self.settings = settings
        self._on_error = on_error
        config: dict[str, Any] = {
            "bootstrap_servers": settings.bootstrap.split(","),
            "client_id": settings.client_id,
            "group_id": settings.group_id,
            "enable_auto_commit": False,
            "isolation_level": "read_committed",
            "auto_offset_reset": settings.start,
            "max_poll_records": settings.max_poll_records,
            "session_timeout_ms": 10_000,
            "heartbeat_interval_ms": 1_000,
            "fetch_max_wait_ms": 100,
            "max_partition_fetch_bytes": 10 * 1024 * 1024,
            "reconnect_backoff_ms": 100,
            "reconnect_backoff_max_ms": 5000,
            # a failed bootstrap is retried by the stream, which decides when to give up
            "bootstrap_timeout_ms": 10_000,
        }
        if settings.instance_id:
            config["group_instance_id"] = settings.instance_id
        config.update(_options(settings))
        self._events: deque[tuple[str, list[TopicPartition]]] = deque()
        self._callbacks: tuple[OnAssign, OnRevoke] | None = None
        try:
            self._consumer = KafkaConsumer(**config)
        except Exception as exc:
            raise _translate(exc, "cannot connect the consumer", settings.bootstrap) from exc

    def _tp(self, tp: TopicPartition) -> Any:
        from kafka import TopicPartition as KTP

        return KTP(tp[0], tp[1])

    # -- assignment --------------------------------------------------------------
    def subscribe(self, on_assign: OnAssign, on_revoke: OnRevoke) -> None:
        """kafka-python runs rebalance listeners on its network thread, possibly while the
        caller is busy elsewhere. The listener only queues the change; ``poll`` hands it
        to the callbacks on the caller's thread and seeks there, as librdkafka does."""
        from kafka import ConsumerRebalanceListener

        events = self._events

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Any) -> None:
                events.append(("revoked", [(p.topic, p.partition) for p in revoked]))

            def on_partitions_assigned(self, assigned: Any) -> None:
                events.append(("assigned", [(p.topic, p.partition) for p in assigned]))

        self._callbacks = (on_assign, on_revoke)
        if self.settings.pattern:
            self._consumer.subscribe(pattern=f"^{self.settings.pattern}$", listener=Listener())
        else:
            self._consumer.subscribe(list(self.settings.topics), listener=Listener())

    def _dispatch(self) -> bool:
        """Run queued rebalance callbacks here; True when there were any."""
        if not self._events or self._callbacks is None:
            return False
        on_assign, on_revoke = self._callbacks
        while self._events:
            kind, partitions = self._events.popleft()
            if kind == "revoked":
                on_revoke(partitions)
                continue
            starts = on_assign(partitions)
            for tp in partitions:
                start = starts[tp] if tp in starts else self._group_start(tp)
                _seek(self._consumer, self._tp(tp), start)
        return True

    def _group_start(self, tp: TopicPartition) -> int:
        """Where a partition the assignment callback gave no start for begins: the group's
        committed offset, else ``start`` (what librdkafka does for an invalid offset)."""
        committed = self.committed([tp])[tp]
        if committed is not None:
            return committed
        return BEGINNING if self.settings.start == "earliest" else END

    def assign(self, offsets: Offsets) -> None:
        parts = {tp: self._tp(tp) for tp in offsets}
        self._consumer.assign(list(parts.values()))
        for tp, offset in offsets.items():
            _seek(self._consumer, parts[tp], offset)

    def partitions(self) -> list[TopicPartition]:
        import re

        try:
            names = sorted(self._consumer.topics())
        except Exception as exc:
            raise _translate(exc, "cannot read topic metadata", self.settings.bootstrap) from exc
        if self.settings.pattern:
            pattern = re.compile(self.settings.pattern)
            names = [t for t in names if pattern.fullmatch(t)]
        else:
            missing = [t for t in self.settings.topics if t not in names]
            if missing:
                raise missing_topic(missing[0], self.settings.bootstrap, names)
            names = list(self.settings.topics)
        return [(t, p) for t in names for p in sorted(self._consumer.partitions_for_topic(t))]

    def assignment(self) -> list[TopicPartition]:
        return [(p.topic, p.partition) for p in self._consumer.assignment()]

    def seek(self, tp: TopicPartition, offset: int) -> None:
        _seek(self._consumer, self._tp(tp), offset)

    # -- reading -----------------------------------------------------------------
    def poll(self, max_records: int, timeout: float) -> pa.Table | None:
        if self._dispatch():
            return None
        try:
            polled = self._consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        except Exception as exc:
            raise _translate(exc, "poll failed", self.settings.bootstrap) from exc
        if self._dispatch():  # fetched across a rebalance: positioned again, read again
            return None
        records = [r for batch in polled.values() for r in batch]
        if not records:
            return None
        return raw_table(
            [r.topic for r in records],
            [r.partition for r in records],
            [r.offset for r in records],
            [r.timestamp if r.timestamp >= 0 else None for r in records],
            [r.key for r in records],
            [r.value for r in records],
            [r.headers or None for r in records],
        )

    def position(self, tp: TopicPartition) -> int | None:
        try:
            return int(self._consumer.position(self._tp(tp), timeout_ms=10_000))
        except Exception:
            return None

    def beginning_offsets(self, tps: list[TopicPartition]) -> Offsets:
        try:
            found = self._consumer.beginning_offsets(
                [self._tp(tp) for tp in tps], timeout_ms=10_000
            )
        except Exception as exc:
            raise _translate(exc, "cannot read beginning offsets", self.settings.bootstrap) from exc
        return {(k.topic, k.partition): int(v) for k, v in found.items()}

    def end_offsets(self, tps: list[TopicPartition]) -> Offsets:
        try:
            ends = self._consumer.end_offsets([self._tp(tp) for tp in tps], timeout_ms=10_000)
        except Exception as exc:
            raise _translate(exc, "cannot read end offsets", self.settings.bootstrap) from exc
        return {(k.topic, k.partition): int(v) for k, v in ends.items()}

    def offsets_for_time(self, tps: list[TopicPartition], timestamp_ms: int) -> Offsets:
        query = {self._tp(tp): timestamp_ms for tp in tps}
        try:
            found = self._consumer.offsets_for_times(query, timeout_ms=10_000)
        except Exception as exc:
            raise _translate(
                exc, "cannot look up offsets by time", self.settings.bootstrap
            ) from exc
        ends = self.end_offsets(tps)
        return {
            (k.topic, k.partition): v.offset if v is not None else ends[(k.topic, k.partition)]
            for k, v in found.items()
        }

    def lag(self) -> dict[TopicPartition, int]:
        state = self._consumer._subscription  # highwater and position without network calls
        lags = {}
        for p in self._consumer.assignment():
            high = self._consumer.highwater(p)
            pos = state.assignment[p].position if p in state.assignment else None
            if high is not None and pos is not None:
                lags[(p.topic, p.partition)] = max(0, high - pos.offset)
        return lags

    # -- group offsets -----------------------------------------------------------
    def committed(self, tps: list[TopicPartition]) -> dict[TopicPartition, int | None]:
        try:
            return {tp: self._consumer.committed(self._tp(tp), timeout_ms=10_000) for tp in tps}
        except Exception as exc:
            raise _translate(exc, "cannot read group offsets", self.settings.bootstrap) from exc

    def committed_metadata(self, tps: list[TopicPartition]) -> dict[TopicPartition, str]:
        try:
            found = {
                tp: self._consumer.committed(self._tp(tp), metadata=True, timeout_ms=10_000)
                for tp in tps
            }
        except Exception as exc:
            raise _translate(exc, "cannot read group offsets", self.settings.bootstrap) from exc
        return {tp: (f.metadata or "") if f is not None else "" for tp, f in found.items()}

    def commit(self, offsets: Offsets, *, wait: bool = True) -> None:
        from kafka.structs import OffsetAndMetadata

        data = {self._tp(tp): OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()}
        try:
            if wait:
                self._consumer.commit(data, timeout_ms=10_000)
            else:
                self._consumer.commit_async(data, callback=self._committed)
        except Exception as exc:
            raise _translate(exc, "group offset commit failed", self.settings.bootstrap) from exc

    def _committed(self, offsets: Any, response: Any) -> None:
        if isinstance(response, Exception) and self._on_error is not None:
            self._on_error(f"group offset commit failed: {response}", False)

    def reachable(self, timeout: float) -> bool:
        known = self.assignment() or [
            (t, p)
            for t in self.settings.topics
            for p in self._consumer.partitions_for_topic(t) or ()
        ]
        if not known:
            return False
        try:
            self._consumer.end_offsets([self._tp(known[0])], timeout_ms=int(timeout * 1000))
        except Exception:
            return False
        return True

    def group_metadata(self) -> Any:
        return self._consumer.group_metadata()

    def close(self) -> None:
        self._consumer.close(autocommit=False)


def _seek(consumer: Any, tp: Any, offset: int | None) -> None:
    if offset is None or offset == BEGINNING:
        consumer.seek_to_beginning(tp)
    elif offset == END:
        consumer.seek_to_end(tp)
    else:
        consumer.seek(tp, offset)


class KafkaPythonTransactionalProducer:
    """kafka-python's transactional producer; ``init_transactions`` fences older instances."""

    def __init__(self, settings: KafkaSettings, transactional_id: str) -> None:
        from kafka import KafkaProducer

        self._where = settings.bootstrap
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=settings.bootstrap.split(","),
                client_id=settings.client_id,
                transactional_id=transactional_id,
                enable_idempotence=True,
                linger_ms=5,
                **_options(settings),
            )
            self._producer.init_transactions()
        except Exception as exc:
            raise _translate(exc, "cannot start the transactional producer", self._where) from exc

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            raise _translate(exc, what, self._where) from exc

    def begin(self) -> None:
        self._call("cannot begin a transaction", self._producer.begin_transaction)

    def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        self._call(
            "cannot send",
            lambda: self._producer.send(
                topic, value=value, key=key, headers=headers or None, partition=partition
            ),
        )

    def send_offsets(self, offsets: Offsets, group_metadata: Any, metadata: str = "") -> None:
        from kafka import TopicPartition as KTP
        from kafka.structs import OffsetAndMetadata

        data = {KTP(t, p): OffsetAndMetadata(o, metadata, -1) for (t, p), o in offsets.items()}
        self._call(
            "cannot send offsets to the transaction",
            self._producer.send_offsets_to_transaction,
            data,
            group_metadata,
        )

    def commit(self) -> None:
        self._call("cannot commit the transaction", self._producer.commit_transaction)

    def abort(self) -> None:
        self._call("cannot abort the transaction", self._producer.abort_transaction)

    def close(self) -> None:
        self._producer.close(timeout=5)
