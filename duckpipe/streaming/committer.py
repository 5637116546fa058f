"""Decode and commit micro-batches in the background while the next batch is polled.

Each batch gets a worker thread that runs two steps: decoding its messages (JSON ->
typed columns: no stream state involved) and then, once the previous batch is
committed, the rest of processing (windows, SQL, checks) and the commit. So three
batches can be under way at once: one being polled, one being decoded and one being
committed, and the decode of a batch overlaps the lake commit of the one before.
Commits stay strictly in order, one at a time; ``submit`` waits until the previous
batch is decoded, so at most two batches are in the background. DuckDB, Arrow and the
lake libraries release the GIL while they work.

The workers never touch the Kafka consumer (kafka-python's is not thread-safe): group
offsets for lag are committed by the polling thread from ``take_committed``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.kafka.decode import Decoded
    from duckpipe.kafka.positions import Offsets, TopicPartition
    from duckpipe.streaming.pipeline import StreamPipeline


@dataclass
class Job:
    """One micro-batch to process and commit, with what the polling thread knew about it."""

    records: pa.Table
    end: Offsets
    replaying: bool
    idle: dict[TopicPartition, bool] | None
    group_metadata: Any
    hold_watermark: bool = False
    watermark_to: int | None = None


@dataclass
class _Flight:
    """A submitted batch: its worker, whether it is decoded yet, and whether it committed."""

    job: Job
    previous: _Flight | None
    decoded: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    committed: bool = False


class Committer:
    """One worker per batch in flight; errors surface on the next ``submit``/``check``/``drain``."""

    def __init__(self, pipeline: StreamPipeline) -> None:
        self.p = pipeline
        self._last: _Flight | None = None
        self._error: BaseException | None = None
        self._committed: Offsets | None = None
        self._lock = threading.Lock()

    def submit(self, job: Job) -> None:
        """Start on ``job`` once the previous batch is decoded (raising an earlier error, if any)."""
        if self._last is not None:
            self._last.decoded.wait()
        self.check()
        flight = _Flight(job, self._last)
        flight.thread = threading.Thread(
            target=self._run, args=(flight,), name=f"duckpipe-commit-{self.p.name}", daemon=True
        )
        self._last = flight
        flight.thread.start()

    def drain(self) -> None:
        """Wait until every batch in flight is committed; re-raise what went wrong."""
        self._wait()
        self.check()

    def check(self) -> None:
        """Raise the error of a batch now (after the batches still in flight have stopped)."""
        if self._error is None:
            return
        self._wait()  # the batches after a failed one stop without committing
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise error

    def take_committed(self) -> Offsets | None:
        """The newest batch end committed to the lake since the last call."""
        with self._lock:
            done, self._committed = self._committed, None
        return done

    def _wait(self) -> None:
        last, self._last = self._last, None
        if last is not None and last.thread is not None:
            last.thread.join()  # each worker waits for the one before it

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = exc

    def _run(self, flight: _Flight) -> None:
        job = flight.job
        decoded: Decoded | None = None
        failed = False
        try:
            decoded = self.p.decode(job.records)
        except BaseException as exc:  # handed to the polling thread
            self._fail(exc)
            failed = True
        finally:
            flight.decoded.set()
        previous, flight.previous = flight.previous, None
        if previous is not None:
            assert previous.thread is not None
            previous.thread.join()
            failed = failed or not previous.committed
        if failed:
            return  # this batch or an earlier one failed: nothing after it is committed
        try:
            result = self.p.process(
                job.records,
                decoded=decoded,
                replaying=job.replaying,
                idle=job.idle,
                hold_watermark=job.hold_watermark,
                watermark_to=job.watermark_to,
            )
            self.p.retrying(
                lambda: self.p.commit(result, job.end, job.replaying, job.group_metadata),
                "committing",
            )
            self.p.status.add(job.records.num_rows)
            with self._lock:
                self._committed = job.end
            flight.committed = True
        except BaseException as exc:  # handed to the polling thread
            self._fail(exc)
