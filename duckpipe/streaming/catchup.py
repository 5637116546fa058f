"""Catching up with the output topics after a restart: batches are cut at the published offsets.

The derived topic's transaction commits before the lake commit (``topics.py``), so a
crash between the two leaves the topics ahead of the lake. After each assignment the
stream finds the partitions whose topics hold records past where it starts, and until
it gets there no batch holds records on both sides of those offsets (*the cut*):
records below the cut go to the lake only, the rest is published as usual.

Windowed streams keep the records past the cut back until every partition reached it
and hold the watermark until then; the part that reaches the cut sets the watermark to
the published one, so the windows re-emitted to the lake are the ones the topics hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from duckpipe.streaming.batch import split_before

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.kafka.positions import Offsets, TopicPartition
    from duckpipe.streaming.batch import Batcher, MicroBatch
    from duckpipe.streaming.pipeline import StreamPipeline


class Submit(Protocol):
    """Hands a batch to the committer (``StreamRunner._submit``)."""

    def __call__(
        self, batch: MicroBatch, *, hold_watermark: bool = ..., watermark_to: int | None = ...
    ) -> None: ...


class CatchUp:
    """Where the output topics are ahead of this instance, and the records kept back meanwhile."""

    def __init__(self, pipeline: StreamPipeline) -> None:
        self.p = pipeline
        self.unpublished: Offsets = {}
        """While catching up: the offsets the output topics already hold (batches are cut there)."""
        self.held: list[pa.Table] = []
        """While catching up (windows): records past the cut, kept until every partition reached it."""

    def begin(
        self, assigned: list[TopicPartition], expected: Offsets, fresh_windows: bool
    ) -> Offsets:
        """After an assignment: where the topics are ahead; records kept back are re-read."""
        self.unpublished = self._published_ahead(assigned, expected, fresh_windows)
        self.held = []  # re-read from the new positions
        return self.unpublished

    def _published_ahead(
        self, assigned: list[TopicPartition], expected: Offsets, fresh_windows: bool
    ) -> Offsets:
        """Partitions whose output topics hold records past where this instance starts.

        A windowed replay rebuilds its windows from scratch and is not cut: windows that
        end by the published watermark are simply not published again.
        """
        outputs = self.p.outputs
        if outputs is None or (self.p.windows is not None and fresh_windows):
            return {}
        lake = self.p.committed.offsets
        ahead: Offsets = {}
        for tp in assigned:
            start = lake.get(tp) if self.p.windows is not None else None
            start = expected.get(tp) if start is None else start
            recorded = outputs.recorded.get(tp)
            if recorded is not None and start is not None and recorded > start:
                ahead[tp] = recorded
        return ahead

    def submit_cut(
        self,
        batch: MicroBatch,
        batcher: Batcher,
        submit: Submit,
        position_moved: Callable[[MicroBatch], bool],
    ) -> bool:
        """Submit ``batch``, cut at the offsets the output topics hold.

        Records below the cut were published by a transaction whose lake commit did not
        happen: they go to the lake only. Windowed streams keep the records past the cut
        back until every partition reached it, hold the watermark until then and set it
        to the published one on the last part. Returns whether records were kept back.
        """
        from duckpipe.streaming.batch import MicroBatch

        limits = self.unpublished
        if not limits:
            submit(batch)
            return False
        old, new = split_before(batch.records, limits)
        old_end = {tp: min(batch.end[tp], o) for tp, o in limits.items() if tp in batch.end}
        for tp in [tp for tp, o in limits.items() if batch.end.get(tp, -1) >= o]:
            limits.pop(tp)
        if self.p.windows is None:
            if old.num_rows:
                submit(MicroBatch(old, old_end))
            rest = MicroBatch(new, batch.end)
            if rest.size or position_moved(rest):
                submit(rest)
            return False
        if new.num_rows:  # not the batcher's: a batch's worth of them would stop its polls
            self.held.append(new)
        held = bool(self.held)
        settled = not limits
        if settled:
            batcher.accepted.extend(self.held)
            self.held = []
        if old.num_rows or settled:
            published = self.p.outputs.watermark if self.p.outputs is not None else None
            submit(
                MicroBatch(old, old_end),
                hold_watermark=not settled,
                watermark_to=published if settled else None,
            )
        return held
