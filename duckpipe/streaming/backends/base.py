"""The small interface both Kafka client libraries are wrapped behind.

A consumer hands out polled records as one Arrow table (``RAW_COLUMNS``): the
library's per-message objects never leave the backend module. Partitions are plain
``(topic, partition)`` tuples; offsets are "next offset to read", as Kafka commits them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from duckpipe.core.errors import SourceError

if TYPE_CHECKING:
    import pyarrow as pa

TopicPartition = tuple[str, int]
Offsets = dict[TopicPartition, int]
OnAssign = Callable[[list[TopicPartition]], Offsets]
"""Called with newly assigned partitions; returns where to start reading each one."""
OnRevoke = Callable[[list[TopicPartition]], None]
BEGINNING = -2
"""Start offset meaning: the oldest record still in the partition."""
END = -1
"""Start offset meaning: after the newest record (only new records are read)."""

RAW_COLUMNS = ("_topic", "_partition", "_offset", "_timestamp", "_key", "_value", "_headers")


def raw_schema() -> pa.Schema:
    """Arrow schema of polled records: Kafka's own fields, payload still bytes."""
    import pyarrow as pa

    header = pa.struct([("key", pa.string()), ("value", pa.binary())])
    return pa.schema(
        [
            ("_topic", pa.string()),
            ("_partition", pa.int32()),
            ("_offset", pa.int64()),
            ("_timestamp", pa.timestamp("us", tz="UTC")),
            ("_key", pa.binary()),
            ("_value", pa.binary()),
            ("_headers", pa.list_(header)),
        ]
    )


Column = Sequence[Any] | Any
"""One column of a poll: a Python sequence, a numpy array or an Arrow array."""


def raw_table(
    topics: Column,
    partitions: Column,
    offsets: Column,
    timestamps_ms: Column,
    keys: Column,
    values: Column,
    headers: Column,
) -> pa.Table:
    """Columns gathered from one poll -> a table with ``raw_schema()``."""
    import pyarrow as pa

    schema = raw_schema()
    millis = _arrow(timestamps_ms, pa.int64())
    stamps = millis.cast(pa.timestamp("ms", tz="UTC")).cast(schema.field("_timestamp").type)
    return pa.Table.from_arrays(
        [
            _arrow(topics, pa.string()),
            _arrow(partitions, pa.int32()),
            _arrow(offsets, pa.int64()),
            stamps,
            _arrow(keys, pa.binary()),
            _arrow(values, pa.binary()),
            _arrow(headers, schema.field("_headers").type),
        ],
        schema=schema,
    )


def _arrow(column: Column, dtype: pa.DataType) -> pa.Array:
    import pyarrow as pa

    if isinstance(column, pa.Array) and column.type == dtype:
        return column
    return pa.array(column, dtype)


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


def missing_topic(name: str, bootstrap: str, existing: Iterable[str]) -> SourceError:
    """A named topic the broker does not have: fail fast (as Flink's KafkaSource does)
    rather than wait, which would hide a misspelt name for ever."""
    from duckpipe.core.errors import did_you_mean

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
    ) -> None: ...

    def send_offsets(self, offsets: Offsets, group_metadata: Any, metadata: str = "") -> None:
        """Commit ``offsets`` for the consumer group with the transaction (``metadata`` on each)."""
        ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...
