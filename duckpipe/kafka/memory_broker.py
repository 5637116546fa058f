"""The state of the in-memory Kafka twin: topics, logs, consumer groups, transactions.

One ``Cluster`` per bootstrap string, shared by every consumer and producer of the
process that names it (``kafka://twin:1`` -> ``cluster("twin:1")``). It keeps what a
broker keeps and decides what a broker decides:

- a partition is a log; an offset is a record's place in it. Committing or aborting
  a transaction writes a marker record in every partition it touched (it takes an
  offset, as on a real broker, and is never returned to a reader);
- read_committed: records of aborted transactions are skipped, and nothing at or
  after the first record of a still open transaction (the last stable offset, LSO)
  is readable;
- a transactional id has an epoch: a producer starting with the same id bumps it
  (aborting the open transaction of the older one), and the older producer's next
  call fails as fenced;
- a consumer group holds committed offsets (with metadata), a generation and its
  members; members that subscribe share the partitions (eager rebalance), a static
  member (``group.instance.id``) that joins again takes over its predecessor's
  partitions without a rebalance and the predecessor is fenced.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from duckpipe.kafka.positions import Offsets, TopicPartition

OPEN, COMMITTED, ABORTED = "open", "committed", "aborted"


@dataclass
class Transaction:
    """One producer transaction: where it wrote first per partition, the offsets it carries."""

    state: str = OPEN
    first: dict[TopicPartition, int] = field(default_factory=dict)
    offsets: dict[str, dict[TopicPartition, tuple[int, str]]] = field(default_factory=dict)


@dataclass
class Record:
    offset: int
    timestamp_ms: int
    key: bytes | None = None
    value: bytes | None = None
    headers: list[tuple[str, bytes]] | None = None
    transaction: Transaction | None = None
    control: bool = False
    """A transaction marker: it takes an offset but is never returned to a reader."""

    def readable(self) -> bool:
        """Whether a read_committed reader returns it (markers and aborted records: no)."""
        if self.control:
            return False
        return self.transaction is None or self.transaction.state == COMMITTED


@dataclass
class Partition:
    records: list[Record] = field(default_factory=list)
    open: dict[int, int] = field(default_factory=dict)
    """First offset of each open transaction here (by ``id()``): the LSO is their minimum."""

    def high(self) -> int:
        return len(self.records)

    def stable(self) -> int:
        """The last stable offset: read_committed readers see nothing at or after it."""
        return min(self.open.values(), default=len(self.records))


@dataclass(eq=False)
class Member:
    """One consumer in a group: what it subscribed to and the rebalance events it has to run."""

    member_id: str
    topics: tuple[str, ...]
    pattern: str | None
    instance_id: str | None = None
    assignment: list[TopicPartition] = field(default_factory=list)
    events: list[tuple[str, list[TopicPartition]]] = field(default_factory=list)
    fenced: str | None = None
    """Why this member may no longer act (a newer static member took its place)."""

    def wants(self, topic: str) -> bool:
        if self.pattern:
            return re.fullmatch(self.pattern, topic) is not None
        return topic in self.topics


@dataclass
class Group:
    committed: dict[TopicPartition, tuple[int, str]] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)
    generation: int = 0


@dataclass(frozen=True)
class GroupMetadata:
    """What ``send_offsets`` needs to commit a group's offsets inside a transaction."""

    group_id: str
    generation: int
    member_id: str | None


class Cluster:
    """One in-memory broker: every method is atomic under the cluster's lock."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.changed = threading.Condition(threading.RLock())
        """Notified when records become readable or a group rebalances."""
        self.topics: dict[str, list[Partition]] = {}
        self.groups: dict[str, Group] = {}
        self.epochs: dict[str, int] = {}
        self.open_transactions: dict[str, Transaction] = {}
        self._ids = itertools.count(1)
        self._next_partition = itertools.count()

    # -- topics ------------------------------------------------------------------
    def create_topic(self, name: str, partitions: int = 1) -> None:
        """A new topic (an existing one is left as it is); pattern subscribers get it."""
        with self.changed:
            if name in self.topics:
                return
            self.topics[name] = [Partition() for _ in range(partitions)]
            for group in self.groups.values():
                if any(m.wants(name) for m in group.members):
                    self.rebalance(group)

    def partition(self, tp: TopicPartition) -> Partition:
        return self.topics[tp[0]][tp[1]]

    def pick_partition(self, topic: str, key: bytes | None) -> int:
        """A keyed record's partition follows from its key (CRC32, as librdkafka's
        ``consistent_random``); records without a key are spread in turn."""
        count = len(self.topics[topic])
        if key is not None:
            return zlib.crc32(key) % count
        return next(self._next_partition) % count

    def append(
        self,
        tp: TopicPartition,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        timestamp_ms: int | None = None,
        transaction: Transaction | None = None,
    ) -> int:
        """Append one record (outside a transaction it is readable at once); its offset."""
        with self.changed:
            part = self.partition(tp)
            offset = part.high()
            stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
            part.records.append(
                Record(offset, stamp, key, value, list(headers or []) or None, transaction)
            )
            if transaction is not None:
                transaction.first.setdefault(tp, offset)
                part.open.setdefault(id(transaction), offset)
            else:
                self.changed.notify_all()
            return offset

    # -- transactions ------------------------------------------------------------
    def init_producer(self, transactional_id: str) -> int:
        """A new epoch for ``transactional_id``; the open transaction of the older one aborts."""
        with self.changed:
            older = self.open_transactions.pop(transactional_id, None)
            if older is not None:
                self.end_transaction(older, commit=False)
            epoch = self.epochs.get(transactional_id, -1) + 1
            self.epochs[transactional_id] = epoch
            return epoch

    def end_transaction(self, transaction: Transaction, *, commit: bool) -> None:
        """Markers in every partition the transaction touched; its offsets on commit."""
        with self.changed:
            transaction.state = COMMITTED if commit else ABORTED
            for tp in transaction.first:
                part = self.partition(tp)
                part.open.pop(id(transaction), None)
                part.records.append(Record(part.high(), int(time.time() * 1000), control=True))
            if commit:
                for group_id, offsets in transaction.offsets.items():
                    self.group(group_id).committed.update(offsets)
            for tid, open_one in list(self.open_transactions.items()):
                if open_one is transaction:
                    del self.open_transactions[tid]
            self.changed.notify_all()

    # -- groups ------------------------------------------------------------------
    def group(self, group_id: str) -> Group:
        return self.groups.setdefault(group_id, Group())

    def join(
        self,
        group_id: str,
        topics: tuple[str, ...],
        pattern: str | None,
        instance_id: str | None,
    ) -> Member:
        """A consumer joins: a static member replaces its predecessor, any other rebalances."""
        with self.changed:
            group = self.group(group_id)
            member = Member(f"member-{next(self._ids)}", topics, pattern, instance_id)
            previous = next(
                (m for m in group.members if instance_id and m.instance_id == instance_id), None
            )
            if previous is not None and (previous.topics, previous.pattern) == (topics, pattern):
                previous.fenced = (
                    f"FENCED_INSTANCE_ID: a newer member with group.instance.id "
                    f"'{instance_id}' joined group '{group_id}'"
                )
                group.members[group.members.index(previous)] = member
                member.assignment = list(previous.assignment)
                member.events.append(("assigned", list(member.assignment)))
                self.changed.notify_all()
                return member
            if previous is not None:
                previous.fenced = f"FENCED_INSTANCE_ID: group.instance.id '{instance_id}' rejoined"
                group.members.remove(previous)
            group.members.append(member)
            self.rebalance(group)
            return member

    def leave(self, group_id: str, member: Member) -> None:
        """A dynamic member leaves its group (a static one stays until it is replaced)."""
        with self.changed:
            group = self.group(group_id)
            if member in group.members and member.instance_id is None:
                group.members.remove(member)
                self.rebalance(group)

    def rebalance(self, group: Group) -> None:
        """Eager: every member gives up what it has and gets its share, round robin."""
        group.generation += 1
        wanted = sorted(
            (topic, p)
            for topic, parts in self.topics.items()
            for p in range(len(parts))
            if any(m.wants(topic) for m in group.members)
        )
        shares: dict[int, list[TopicPartition]] = {id(m): [] for m in group.members}
        takers = itertools.cycle(group.members) if group.members else iter(())
        for tp in wanted:
            member = next(m for m in takers if m.wants(tp[0]))
            shares[id(member)].append(tp)
        for member in group.members:
            if member.assignment:
                member.events.append(("revoked", member.assignment))
            member.assignment = shares[id(member)]
            member.events.append(("assigned", list(member.assignment)))
        self.changed.notify_all()

    def check_generation(self, metadata: GroupMetadata) -> str | None:
        """Why offsets of ``metadata`` may not be committed now (None: they may)."""
        if metadata.member_id is None:
            return None
        group = self.group(metadata.group_id)
        if not any(m.member_id == metadata.member_id for m in group.members):
            return f"UNKNOWN_MEMBER_ID: {metadata.member_id} is not in group '{metadata.group_id}'"
        if metadata.generation != group.generation:
            return (
                f"ILLEGAL_GENERATION: generation {metadata.generation} of group "
                f"'{metadata.group_id}' is over (now {group.generation})"
            )
        return None

    def committed(self, group_id: str, tps: list[TopicPartition]) -> dict[TopicPartition, Any]:
        with self.changed:
            found = self.group(group_id).committed
            return {tp: found.get(tp) for tp in tps}

    def commit(self, group_id: str, offsets: Offsets, metadata: str = "") -> None:
        with self.changed:
            self.group(group_id).committed.update(
                {tp: (int(o), metadata) for tp, o in offsets.items()}
            )


_CLUSTERS: dict[str, Cluster] = {}
_LOCK = threading.Lock()


def cluster(bootstrap: str) -> Cluster:
    """The in-memory broker named ``bootstrap`` (created on first use)."""
    with _LOCK:
        found = _CLUSTERS.get(bootstrap)
        if found is None:
            found = _CLUSTERS[bootstrap] = Cluster(bootstrap)
        return found


def forget(bootstrap: str) -> None:
    """Drop the broker named ``bootstrap`` and everything it holds."""
    with _LOCK:
        _CLUSTERS.pop(bootstrap, None)
