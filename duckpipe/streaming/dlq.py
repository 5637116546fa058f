"""The stream's dead letter queue: a lake table ``_dlq/<stream>`` and, optionally, a topic.

Every rejected message is kept with its topic, partition, offset, key, headers, raw
value and the reason. Writing is idempotent by offset: the DLQ table's own committed
position says up to where it is complete, and a re-read batch (after a crash or in a
replay) skips what is already there. The DLQ topic is published by ``topics.py``,
in the same producer transaction as the derived topic and the consumer offsets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from duckpipe.sinks.base import Position
from duckpipe.streaming.position import StreamPosition, dlq_table, writer_id

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.sinks.base import Sink
    from duckpipe.streaming.backends import Offsets

DLQ_COLUMNS = (
    "_topic",
    "_partition",
    "_offset",
    "_timestamp",
    "_key",
    "_headers",
    "_value",
    "_reason",
)


def after(rows: pa.Table, recorded: Offsets) -> pa.Table:
    """The rows at or after ``recorded`` in their partition (the rest are already written)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not recorded or not rows.num_rows:
        return rows
    keys = pc.binary_join_element_wise(
        rows.column("_topic"), pc.cast(rows.column("_partition"), pa.string()), "\x00"
    )
    names = [f"{t}\x00{p}" for (t, p) in recorded]
    index = pc.index_in(keys, value_set=pa.array(names, pa.string()))
    floors = pc.take(pa.array(list(recorded.values()), pa.int64()), index)
    keep = pc.or_kleene(pc.is_null(floors), pc.greater_equal(rows.column("_offset"), floors))
    return rows.filter(pc.fill_null(keep, True))


class DeadLetters:
    """Writes rejected messages to ``_dlq/<stream>`` exactly once."""

    def __init__(self, sink: Sink, stream: str) -> None:
        self.sink = sink
        self.stream = stream
        self.table = dlq_table(stream)
        self.recorded: Offsets = {}
        self.count = 0

    def resume(self) -> None:
        """Read where the DLQ table is complete (after a start or a rebalance)."""
        stored = self.sink.read_position(self.table, writer_id(self.stream))
        self.recorded = StreamPosition.from_value(stored.value if stored else None).offsets

    def write(self, rejects: pa.Table, batch_end: Offsets, run_id: str = "") -> int:
        """Append the rejects not yet recorded; the commit says the DLQ is complete to ``batch_end``."""
        fresh = after(rejects.select(list(DLQ_COLUMNS)), self.recorded)
        if not fresh.num_rows:
            return 0
        recorded = StreamPosition(offsets=dict(self.recorded)).advanced(batch_end)
        self.sink.write(
            self.table,
            self.records(fresh, run_id),
            mode="append",
            position=Position(writer_id(self.stream), StreamPosition(recorded).to_value()),
            schema_mode="evolve",
        )
        self.recorded = recorded
        self.count += fresh.num_rows
        return fresh.num_rows

    def records(self, rejects: pa.Table, run_id: str) -> pa.Table:
        """DLQ rows: the columns every ``_dlq/*`` table shares, then the Kafka record itself."""
        import pyarrow as pa

        n = rejects.num_rows
        ids = [
            f"{t}:{p}:{o}"
            for t, p, o in zip(
                rejects.column("_topic").to_pylist(),
                rejects.column("_partition").to_pylist(),
                rejects.column("_offset").to_pylist(),
                strict=True,
            )
        ]
        raw = [
            None if v is None else v.decode("utf-8", "replace")
            for v in rejects.column("_value").to_pylist()
        ]
        common = pa.table(
            {
                "dlq_id": pa.array(ids, pa.string()),
                "source": pa.array([self.stream] * n, pa.string()),
                "run_id": pa.array([run_id] * n, pa.string()),
                "failed_at": pa.array([datetime.now(UTC)] * n, pa.timestamp("us", tz="UTC")),
                "reason": rejects.column("_reason").cast(pa.string()),
                "column_name": pa.array([None] * n, pa.string()),
                "raw": pa.array(raw, pa.string()),
            }
        )
        for name in DLQ_COLUMNS[:-1]:
            common = common.append_column(name, rejects.column(name))
        return common

    def offsets_in(self, ranges: dict[tuple[str, int], tuple[int, int]]) -> pa.Table:
        """``_topic, _partition, _offset`` of dead letters inside ``[lo, hi)`` per partition."""
        import pyarrow as pa
        import pyarrow.compute as pc

        columns = ["_topic", "_partition", "_offset"]
        empty = pa.schema(
            [("_topic", pa.string()), ("_partition", pa.int32()), ("_offset", pa.int64())]
        ).empty_table()
        if not ranges or not self.sink.exists(self.table):
            return empty
        condition = None
        for (topic, partition), (lo, hi) in ranges.items():
            part = (
                (pc.field("_topic") == topic)
                & (pc.field("_partition") == partition)
                & (pc.field("_offset") >= lo)
                & (pc.field("_offset") < hi)
            )
            condition = part if condition is None else condition | part
        found = self.sink.dataset(self.table).to_table(columns=columns, filter=condition)
        return found.cast(empty.schema)
