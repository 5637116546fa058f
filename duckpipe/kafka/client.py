"""The small interface every Kafka client backend implements (``backends.BACKENDS``).

A consumer hands out polled records as one Arrow table (``records.raw_schema()``):
the library's per-message objects never leave the backend module. Partitions are
plain ``(topic, partition)`` tuples; offsets are "next offset to read", as Kafka
commits them (``positions``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from duckpipe.core.errors import SourceError, did_you_mean
from duckpipe.kafka.positions import Offsets, TopicPartition

if TYPE_CHECKING:
    import pyarrow as pa

OnAssign = Callable[[list[TopicPartition]], Offsets]
"""Called with newly assigned partitions; returns where to start reading each one."""
OnRevoke = Callable[[list[TopicPartition]], None]


def missing_topic(name: str, bootstrap: str, existing: Iterable[str]) -> SourceError:
    """A named topic the broker does not have: fail fast (as Flink's KafkaSource does)
    rather than wait, which would hide a misspelt name for ever."""
    close = did_you_mean(name, [t for t in existing if not t.startswith("__")])
    return SourceError(
        f"topic '{name}' does not exist on {bootstrap}",
        where=f"topic {name}",
        hint=(close + " " if close else "") + "create the topic, or check `topics:` of the source",
    )


class Consumer(Protocol):
    """A read_committed consumer that never commits on its own."""

    client: str

    def subscribe(self, on_assign: OnAssign, on_revoke: OnRevoke) -> None:
        """Join the group for the settings' topics or pattern; callbacks run inside ``poll``."""
        ...

    def assign(self, offsets: Offsets) -> None:
        """Read exactly these partitions from these offsets (no group membership)."""
        ...

    def partitions(self) -> list[TopicPartition]:
        """Every partition of the configured topics (or of the topics matching the pattern)."""
        ...

    def assignment(self) -> list[TopicPartition]: ...

    def seek(self, tp: TopicPartition, offset: int) -> None: ...

    def poll(self, max_records: int, timeout: float) -> pa.Table | None:
        """Up to ``max_records`` records as a ``raw_schema()`` table, or None after ``timeout``."""
        ...

    def position(self, tp: TopicPartition) -> int | None:
        """The next offset this consumer will return for ``tp``."""
        ...

    def beginning_offsets(self, tps: list[TopicPartition]) -> Offsets:
        """The oldest offset still stored in each partition."""
        ...

    def end_offsets(self, tps: list[TopicPartition]) -> Offsets:
        """The last stable offset of each partition (what read_committed can reach now)."""
        ...

    def offsets_for_time(self, tps: list[TopicPartition], timestamp_ms: int) -> Offsets:
        """The first offset at or after ``timestamp_ms`` (the end offset when there is none)."""
        ...

    def lag(self) -> dict[TopicPartition, int]:
        """Records behind the end of each assigned partition, from the client's cached state."""
        ...

    def committed(self, tps: list[TopicPartition]) -> dict[TopicPartition, int | None]:
        """The group's committed offsets."""
        ...

    def committed_metadata(self, tps: list[TopicPartition]) -> dict[TopicPartition, str]:
        """The metadata string stored with each committed offset (empty when none)."""
        ...

    def commit(self, offsets: Offsets, *, wait: bool = True) -> None:
        """Commit group offsets (duckpipe does this for lag monitoring only).

        ``wait=False`` sends the commit and returns; a failure goes to the error callback.
        """
        ...

    def reachable(self, timeout: float) -> bool:
        """Whether a broker answers a metadata request within ``timeout`` seconds."""
        ...

    def group_metadata(self) -> Any:
        """The library's group metadata for ``send_offsets_to_transaction``."""
        ...

    def close(self) -> None: ...


class TransactionalProducer(Protocol):
    """A producer whose records and consumer offsets commit or abort together."""

    def begin(self) -> None: ...

    def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        """Send one record in the open transaction; ``partition`` None: chosen by the key."""
        ...

    def send_offsets(self, offsets: Offsets, group_metadata: Any, metadata: str = "") -> None:
        """Commit ``offsets`` for the consumer group with the transaction (``metadata`` on each)."""
        ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...
