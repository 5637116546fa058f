"""The in-memory Kafka twin (``client: memory``): a consumer and a transactional producer
over a broker that lives in this process (``memory_broker.Cluster``).

It implements the same interface as the confluent-kafka and kafka-python backends,
with the semantics the contract suite (``tests/kafka/test_contract.py``) asserts on
all three: read_committed (aborted and still open transactions are invisible, end
offsets are the last stable offsets), group offsets with metadata, transactions that
commit records and consumer offsets together, fencing of an older producer by a newer
one with the same transactional id, and static group membership. A project uses it by
naming the broker in its source (``uri: kafka://twin:1``, ``client: memory``); tests
fill it through ``memory_broker.cluster("twin:1")``.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import StreamError, StreamFenced
from duckpipe.kafka.client import OnAssign, OnRevoke, missing_topic
from duckpipe.kafka.memory_broker import Cluster, GroupMetadata, Member, Transaction, cluster
from duckpipe.kafka.positions import BEGINNING, END, Offsets, TopicPartition
from duckpipe.kafka.records import raw_table

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.kafka.settings import KafkaSettings

CLIENT = "memory"


class MemoryConsumer:
    """A read_committed consumer of the twin: no auto commit, offsets from the caller."""

    client = CLIENT

    def __init__(self, settings: KafkaSettings, *, on_error: Any = None) -> None:
        self.settings = settings
        self._on_error = on_error
        self._cluster: Cluster = cluster(settings.bootstrap)
        self._positions: dict[TopicPartition, int] = {}
        self._member: Member | None = None
        self._callbacks: tuple[OnAssign, OnRevoke] | None = None
        self._closed = False

    # -- assignment --------------------------------------------------------------
    def subscribe(self, on_assign: OnAssign, on_revoke: OnRevoke) -> None:
        self._callbacks = (on_assign, on_revoke)
        s = self.settings
        self._member = self._cluster.join(s.group_id, s.topics, s.pattern, s.instance_id)

    def assign(self, offsets: Offsets) -> None:
        with self._cluster.changed:
            self._positions = {tp: self._resolve(tp, o) for tp, o in offsets.items()}

    def partitions(self) -> list[TopicPartition]:
        topics = self._cluster.topics
        if self.settings.pattern:
            pattern = re.compile(self.settings.pattern)
            names = sorted(t for t in topics if pattern.fullmatch(t))
        else:
            for name in self.settings.topics:
                if name not in topics:
                    raise missing_topic(name, self.settings.bootstrap, topics)
            names = list(self.settings.topics)
        return [(t, p) for t in names for p in range(len(topics[t]))]

    def assignment(self) -> list[TopicPartition]:
        return list(self._positions)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        with self._cluster.changed:
            self._positions[tp] = self._resolve(tp, offset)

    def _resolve(self, tp: TopicPartition, offset: int | None) -> int:
        """A start offset, symbolic or missing (then: the group's, else ``settings.start``)."""
        part = self._cluster.partition(tp)
        if offset is None or offset < -2:
            found = self._cluster.committed(self.settings.group_id, [tp])[tp]
            if found is not None:
                return int(found[0])
            offset = BEGINNING if self.settings.start == "earliest" else END
        if offset == BEGINNING:
            return 0
        if offset == END:
            return part.stable()
        return min(int(offset), part.high())

    # -- reading -----------------------------------------------------------------
    def poll(self, max_records: int, timeout: float) -> pa.Table | None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_member()
            self._dispatch()
            with self._cluster.changed:
                table = self._read(max_records)
                left = deadline - time.monotonic()
                if table is not None or left <= 0:
                    return table
                if not (self._member is not None and self._member.events):
                    self._cluster.changed.wait(left)

    def _read(self, max_records: int) -> pa.Table | None:
        """Up to ``max_records`` readable records, partition by partition; skipped markers
        and aborted records move the position on, up to the last stable offset."""
        rows: list[tuple[TopicPartition, Any]] = []
        for tp, position in list(self._positions.items()):
            part = self._cluster.partition(tp)
            stable = part.stable()
            while position < stable and len(rows) < max_records:
                record = part.records[position]
                position += 1
                if record.readable():
                    rows.append((tp, record))
            self._positions[tp] = position
        if not rows:
            return None
        return raw_table(
            [tp[0] for tp, _ in rows],
            [tp[1] for tp, _ in rows],
            [r.offset for _, r in rows],
            [r.timestamp_ms for _, r in rows],
            [r.key for _, r in rows],
            [r.value for _, r in rows],
            [r.headers for _, r in rows],
        )

    def _dispatch(self) -> None:
        """Run this member's rebalance callbacks here, on the caller's thread."""
        member = self._member
        if member is None or self._callbacks is None:
            return
        on_assign, on_revoke = self._callbacks
        while True:
            with self._cluster.changed:
                if not member.events:
                    return
                kind, partitions = member.events.pop(0)
            if kind == "revoked":
                on_revoke(partitions)
                with self._cluster.changed:
                    for tp in partitions:
                        self._positions.pop(tp, None)
                continue
            starts = on_assign(partitions)
            with self._cluster.changed:
                for tp in partitions:
                    self._positions[tp] = self._resolve(tp, starts.get(tp))

    def _check_member(self) -> None:
        if self._member is not None and self._member.fenced:
            raise StreamFenced(
                f"Kafka consumer failed: {self._member.fenced}",
                where=self.settings.bootstrap,
                hint="another instance of this stream took over",
            )

    def position(self, tp: TopicPartition) -> int | None:
        return self._positions.get(tp)

    def beginning_offsets(self, tps: list[TopicPartition]) -> Offsets:
        return {tp: 0 for tp in tps}

    def end_offsets(self, tps: list[TopicPartition]) -> Offsets:
        with self._cluster.changed:
            return {tp: self._cluster.partition(tp).stable() for tp in tps}

    def offsets_for_time(self, tps: list[TopicPartition], timestamp_ms: int) -> Offsets:
        with self._cluster.changed:
            found = {}
            for tp in tps:
                part = self._cluster.partition(tp)
                stable = part.stable()
                found[tp] = next(
                    (
                        r.offset
                        for r in part.records[:stable]
                        if not r.control and r.timestamp_ms >= timestamp_ms
                    ),
                    stable,
                )
            return found

    def lag(self) -> dict[TopicPartition, int]:
        with self._cluster.changed:
            return {
                tp: max(0, self._cluster.partition(tp).high() - position)
                for tp, position in self._positions.items()
            }

    # -- group offsets -----------------------------------------------------------
    def committed(self, tps: list[TopicPartition]) -> dict[TopicPartition, int | None]:
        found = self._cluster.committed(self.settings.group_id, tps)
        return {tp: None if f is None else int(f[0]) for tp, f in found.items()}

    def committed_metadata(self, tps: list[TopicPartition]) -> dict[TopicPartition, str]:
        found = self._cluster.committed(self.settings.group_id, tps)
        return {tp: "" if f is None else f[1] for tp, f in found.items()}

    def commit(self, offsets: Offsets, *, wait: bool = True) -> None:
        self._check_member()
        self._cluster.commit(self.settings.group_id, offsets)

    def reachable(self, timeout: float) -> bool:
        return not self._closed

    def group_metadata(self) -> GroupMetadata:
        with self._cluster.changed:
            member = self._member
            generation = self._cluster.group(self.settings.group_id).generation
            return GroupMetadata(
                self.settings.group_id, generation, member.member_id if member else None
            )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._member is not None and not self._member.fenced:
            self._cluster.leave(self.settings.group_id, self._member)
        self._positions = {}


class MemoryTransactionalProducer:
    """A transactional producer of the twin; starting it fences an older one with its id."""

    def __init__(self, settings: KafkaSettings, transactional_id: str) -> None:
        self._cluster: Cluster = cluster(settings.bootstrap)
        self._id = transactional_id
        self._epoch = self._cluster.init_producer(transactional_id)
        self._transaction: Transaction | None = None

    def _check(self, what: str) -> None:
        current = self._cluster.epochs.get(self._id)
        if current != self._epoch:
            raise StreamFenced(
                f"the transactional producer was fenced: {what}: PRODUCER_FENCED "
                f"(transactional id {self._id}, epoch {self._epoch}, now {current})",
                hint="another instance of this stream is running; this one stops",
            )

    def _open(self, what: str) -> Transaction:
        self._check(what)
        if self._transaction is None:
            raise StreamError(f"Kafka transaction failed: {what}: no transaction in progress")
        return self._transaction

    def begin(self) -> None:
        self._check("begin")
        if self._transaction is not None:
            raise StreamError("Kafka transaction failed: a transaction is already in progress")
        self._transaction = Transaction()
        self._cluster.open_transactions[self._id] = self._transaction

    def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        transaction = self._open("send")
        with self._cluster.changed:
            if topic not in self._cluster.topics:
                raise StreamError(
                    f"Kafka transaction failed: send: topic '{topic}' does not exist "
                    f"on {self._cluster.bootstrap}"
                )
            if partition is None:
                partition = self._cluster.pick_partition(topic, key)
            self._cluster.append(
                (topic, partition), value, key=key, headers=headers, transaction=transaction
            )

    def send_offsets(self, offsets: Offsets, group_metadata: Any, metadata: str = "") -> None:
        transaction = self._open("send_offsets_to_transaction")
        refused = self._cluster.check_generation(group_metadata)
        if refused is not None:
            raise StreamError(f"Kafka transaction failed: {refused}", retryable=True)
        staged = transaction.offsets.setdefault(group_metadata.group_id, {})
        staged.update({tp: (int(o), metadata) for tp, o in offsets.items()})

    def commit(self) -> None:
        transaction = self._open("commit_transaction")
        with self._cluster.changed:
            self._check("commit_transaction")
            self._cluster.end_transaction(transaction, commit=True)
        self._transaction = None

    def abort(self) -> None:
        transaction = self._open("abort_transaction")
        with self._cluster.changed:
            self._check("abort_transaction")
            self._cluster.end_transaction(transaction, commit=False)
        self._transaction = None

    def close(self) -> None:
        """An open transaction stays open (as on a broker, until a newer producer aborts it)."""
