"""Micro-batches: poll until ``max_records`` records or ``max_interval`` seconds, whichever first."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.kafka.client import Consumer
    from duckpipe.kafka.positions import Offsets

POLL_SLICE = 0.1
"""Longest single wait inside a poll, so a stop request is seen quickly."""


@dataclass
class MicroBatch:
    """Records polled together (``raw_schema()``) and the consumer positions after them."""

    records: pa.Table
    end: Offsets
    seconds: float = 0.0

    @property
    def size(self) -> int:
        return self.records.num_rows


@dataclass
class Batcher:
    """Collects polled chunks into micro-batches and keeps records that were set aside."""

    consumer: Consumer
    max_records: int
    max_interval: float
    carry: list[pa.Table] = field(default_factory=list)
    """Records polled when the assignment changed, not yet checked against the new offsets."""
    accepted: list[pa.Table] = field(default_factory=list)
    """Records already checked (and counted in ``expected``) that start the next batch."""

    def collect(
        self,
        expected: Offsets,
        *,
        interrupted: Callable[[], bool],
        stopping: Callable[[], bool] = lambda: False,
    ) -> MicroBatch | None:
        """One micro-batch; None when ``interrupted()`` turned true: the assignment changed.

        ``expected`` (next offset per partition) drops records a library hands out from
        before a seek; it is advanced as records arrive. ``stopping()`` ends the batch early
        (SIGTERM): what was polled so far is still returned, to be committed.
        """
        import pyarrow as pa

        chunks = [*self.accepted, *(in_order(c, expected) for c in self.carry)]
        count = sum(c.num_rows for c in chunks)
        self.carry, self.accepted = [], []
        started = time.monotonic()
        while count < self.max_records and not stopping():
            left = self.max_interval - (time.monotonic() - started)
            if left <= 0:
                break
            chunk = self.consumer.poll(self.max_records - count, min(left, POLL_SLICE))
            if interrupted():
                # The assignment changed inside this poll. Records of earlier polls are
                # stale (the partitions were re-positioned from the lake); this poll's
                # records may be new and are kept, to be checked against the offsets of
                # the new assignment (``expected`` still holds the old ones).
                self.carry = [chunk] if chunk is not None else []
                return None
            if chunk is None:
                continue
            chunk = in_order(chunk, expected)
            chunks.append(chunk)
            count += chunk.num_rows
        records = pa.concat_tables(chunks) if chunks else None
        if records is None:
            from duckpipe.kafka.records import raw_schema

            records = raw_schema().empty_table()
        return MicroBatch(records, self.positions(expected), time.monotonic() - started)

    def positions(self, expected: Offsets) -> Offsets:
        """Where each assigned partition stands now (past control records too)."""
        out = {}
        for tp in self.consumer.assignment():
            position = self.consumer.position(tp)
            known = expected.get(tp)
            if position is None or (known is not None and position < known):
                position = known
            if position is not None:
                out[tp] = position
        return out


def in_order(chunk: pa.Table, expected: Offsets) -> pa.Table:
    """Drop records before ``expected`` of their partition; advance ``expected`` past the rest.

    One aggregate finds each partition's offset range; only a chunk that really holds
    records from before a seek is filtered (a copy), the usual chunk is returned as is.
    """
    import pyarrow.compute as pc

    if not chunk.num_rows:
        return chunk
    stale = []
    for topic, part, low, high in offset_ranges(chunk):
        floor = expected.get((topic, part))
        if floor is not None and low < floor:
            stale.append((topic, part, floor))
        if floor is None or high >= floor:
            expected[(topic, part)] = high + 1
    if not stale:
        return chunk
    drop = None
    for topic, part, floor in stale:
        old = pc.and_(
            pc.and_(
                pc.equal(chunk.column("_topic"), topic), pc.equal(chunk.column("_partition"), part)
            ),
            pc.less(chunk.column("_offset"), floor),
        )
        drop = old if drop is None else pc.or_(drop, old)
    return chunk.filter(pc.invert(drop))


def offset_ranges(chunk: pa.Table) -> list[tuple[str, int, int, int]]:
    """``(topic, partition, lowest offset, highest offset)`` of each partition in ``chunk``.

    A poll of one topic hands out each partition's records in runs, so the ranges come
    from the runs (numpy, a few microseconds); records of several topics are grouped.
    """
    import numpy as np
    import pyarrow.compute as pc

    topics = chunk.column("_topic")
    topic = topics[0].as_py()
    if topics.null_count or not pc.all(pc.equal(topics, topic)).as_py():
        ranges = chunk.group_by(["_topic", "_partition"], use_threads=False).aggregate(
            [("_offset", "min"), ("_offset", "max")]
        )
        return list(
            zip(
                ranges.column("_topic").to_pylist(),
                ranges.column("_partition").to_pylist(),
                ranges.column("_offset_min").to_pylist(),
                ranges.column("_offset_max").to_pylist(),
                strict=True,
            )
        )
    partitions = chunk.column("_partition").to_numpy()
    offsets = chunk.column("_offset").to_numpy()
    starts = np.concatenate(([0], np.flatnonzero(np.diff(partitions)) + 1))
    found: dict[int, tuple[int, int]] = {}
    for part, low, high in zip(
        partitions[starts].tolist(),
        np.minimum.reduceat(offsets, starts).tolist(),
        np.maximum.reduceat(offsets, starts).tolist(),
        strict=True,
    ):
        seen = found.get(part)
        found[part] = (low, high) if seen is None else (min(seen[0], low), max(seen[1], high))
    return [(topic, part, low, high) for part, (low, high) in found.items()]


def split_before(chunk: pa.Table, limits: Offsets) -> tuple[pa.Table, pa.Table]:
    """Rows before ``limits`` of their partition, and the rest."""
    import pyarrow as pa
    import pyarrow.compute as pc

    before = pa.array([False] * chunk.num_rows)
    for (topic, part), limit in limits.items():
        mine = pc.and_(
            pc.equal(chunk.column("_topic"), topic), pc.equal(chunk.column("_partition"), part)
        )
        before = pc.or_(before, pc.and_(mine, pc.less(chunk.column("_offset"), limit)))
    return chunk.filter(before), chunk.filter(pc.invert(before))
