"""Where a stream's dead letter table ``_dlq/<stream>`` is complete, by offset.

The rows are written by the one dead letter writer (``duckpipe.ingest.dlq``); each
of its commits carries the stream's position, which says up to which offsets the
table holds every reject. After a crash or in a replay a re-read batch skips what is
already there. The DLQ topic goes out with the batch's producer transaction
(``topics.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.ingest.dlq import (
    MESSAGE_COLUMNS,
    after,
    dlq_table,
    message_records,
    write_dead_letters,
)
from duckpipe.sinks.base import Position
from duckpipe.streaming.position import StreamPosition, writer_id

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.kafka.positions import Offsets
    from duckpipe.sinks.base import Sink


class StreamDeadLetters:
    """The dead letters of one stream, written to ``_dlq/<stream>`` exactly once."""

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
        fresh = after(rejects.select(list(MESSAGE_COLUMNS)), self.recorded)
        if not fresh.num_rows:
            return 0
        recorded = StreamPosition(offsets=dict(self.recorded)).advanced(batch_end)
        position = Position(writer_id(self.stream), StreamPosition(recorded).to_value())
        records = message_records(fresh, self.stream, run_id)
        write_dead_letters(self.sink, self.table, records, position=position)
        self.recorded = recorded
        self.count += fresh.num_rows
        return fresh.num_rows

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
