"""Process and commit micro-batches on one background thread while the next batch is polled.

Batches are committed strictly in order, one at a time; ``submit`` waits for the
previous batch first, so at most one batch is in flight. DuckDB, Arrow and the lake
libraries release the GIL, so decoding and writing overlap with consuming. The worker
never touches the Kafka consumer (kafka-python's is not thread-safe): group offsets
for lag are committed by the polling thread from ``take_committed``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.streaming.backends import Offsets, TopicPartition
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


class Committer:
    """A single worker thread; errors surface on the next ``submit``/``drain``."""

    def __init__(self, pipeline: StreamPipeline) -> None:
        self.p = pipeline
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._committed: Offsets | None = None
        self._lock = threading.Lock()

    def submit(self, job: Job) -> None:
        """Start committing ``job`` once the previous one is done (raising its error, if any)."""
        self.drain()
        self._thread = threading.Thread(
            target=self._run, args=(job,), name=f"duckpipe-commit-{self.p.name}", daemon=True
        )
        self._thread.start()

    def drain(self) -> None:
        """Wait for the batch in flight; re-raise what went wrong with it."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def check(self) -> None:
        """Raise the error of a finished batch now, without waiting for one in flight."""
        if self._thread is not None and not self._thread.is_alive():
            self.drain()

    def take_committed(self) -> Offsets | None:
        """The newest batch end committed to the lake since the last call."""
        with self._lock:
            done, self._committed = self._committed, None
        return done

    def _run(self, job: Job) -> None:
        try:
            result = self.p.process(
                job.records,
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
        except BaseException as exc:  # handed to the polling thread
            self._error = exc
