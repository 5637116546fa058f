"""``duckpipe stream NAME``: Kafka -> micro-batches -> SQL / windows -> the lake, exactly once.

Exactly-once rests on one rule: a batch's rows and the offsets they cover are
committed in the same lake commit (``Position(writer_id="stream:<name>")``). On start
and after every rebalance the consumer is positioned from that commit, never from
the group's offsets; group offsets are committed afterwards, for lag monitoring only.
Before each commit the stored position must still be the one this instance last
saw; if another instance moved it, this one is fenced and stops without writing.
"""

from __future__ import annotations

import contextlib
import signal
import time
from typing import TYPE_CHECKING, Any

from duckpipe.core.console import Console, NullConsole
from duckpipe.kafka.positions import END, Offsets, TopicPartition, nest
from duckpipe.streaming.batch import in_order, split_before
from duckpipe.streaming.catchup import CatchUp
from duckpipe.streaming.committer import Committer
from duckpipe.streaming.options import StreamOptions, StreamReport
from duckpipe.streaming.outage import PROBE_EVERY, give_up_seconds
from duckpipe.streaming.replay import replay_targets
from duckpipe.streaming.resolve import stream_config
from duckpipe.streaming.starts import first_offsets, plan_starts, resolve_starts
from duckpipe.streaming.tuning import keep_heap

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.project import Project
    from duckpipe.streaming.batch import Batcher, MicroBatch
    from duckpipe.streaming.pipeline import StreamPipeline


def run_stream(
    project: Project,
    name: str,
    options: StreamOptions = StreamOptions(),
    *,
    console: Console | None = None,
) -> StreamReport:
    """Run stream ``name`` of ``project`` until SIGTERM/SIGINT (or, with ``once``, the end)."""
    from duckpipe.streaming.pipeline import StreamPipeline

    pipeline = StreamPipeline(project, name, stream_config(project, name), options.client)
    return StreamRunner(pipeline, options, console or NullConsole()).run()


class StreamRunner:
    """The loop: assignment -> (restore windows) -> collect -> process -> commit -> status."""

    def __init__(self, pipeline: StreamPipeline, options: StreamOptions, console: Console) -> None:
        self.p = pipeline
        self.options = options
        self.console = console
        self.status = pipeline.status
        self.stopping: str | None = None
        self.assigned: list[TopicPartition] = []
        self.expected: Offsets = {}
        self.restore_until: Offsets = {}
        self.ends: Offsets | None = None
        self.replay_until: Offsets = {}
        self.replay_watermark: int | None = None
        self.replay_offsets: Offsets = {}
        self.unresolved: Offsets = {}
        self.first_offsets: Offsets = {}
        self.reassigned = False
        self.fresh_windows = False
        self.assign_error: BaseException | None = None
        self.report = StreamReport(pipeline.name)
        self.committer = Committer(pipeline)
        self.submitted: Offsets = {}
        self.catch_up = CatchUp(pipeline)
        self._bar: Any = None
        self._shown = 0
        self._last_status = time.monotonic()
        pipeline.stop_requested = lambda: self.stopping is not None
        pipeline.skip_checks = options.skip_checks
        pipeline.outage.give_up_after = give_up_seconds(
            options.give_up_after, pipeline.config.give_up_after, options.once
        )
        self._probed = 0.0

    # -- assignment callbacks (run inside poll) ------------------------------------
    def _on_assign(self, partitions: list[TopicPartition]) -> Offsets:
        try:
            self.p.kafka.reachable()  # joining the group took a broker
            self.committer.drain()  # positions are read after the batch in flight is committed
            return self._starts(partitions)
        except BaseException as exc:  # kafka-python swallows listener errors: re-raise after poll
            self.assign_error = exc
            return {}

    def _starts(self, partitions: list[TopicPartition]) -> Offsets:
        """Where each newly assigned partition starts (see ``starts.py``).

        No Kafka request may happen here (kafka-python runs this on its network thread).
        """
        stored = self.p.resume()
        replay = {tp: o for tp, o in self.replay_offsets.items() if tp in partitions}
        planned = plan_starts(
            partitions,
            stored,
            replay,
            windowed=self.p.windows is not None,
            start=self.p.config.start,
            first_offsets=self.first_offsets,
        )
        starts = planned.offsets
        self.restore_until = planned.restore_until
        self.replay_until.update(planned.replay_until)
        self.fresh_windows = bool(replay)
        if replay:
            self.replay_offsets = {}
            self.replay_watermark = stored.watermark_us
        self.expected = {tp: o for tp, o in starts.items() if o >= 0}
        self.submitted = dict(stored.offsets)
        self.unresolved = {tp: o for tp, o in starts.items() if o < 0}
        self.assigned = list(partitions)
        self.ends = None
        self.reassigned = True
        self.console.event("stream_assigned", stream=self.p.name, starts=_named(starts))
        return starts

    def _on_revoke(self, partitions: list[TopicPartition]) -> None:
        try:
            self.committer.drain()  # what we consumed is committed before the partitions go
        except BaseException as exc:
            self.assign_error = exc
        self.assigned = [tp for tp in self.assigned if tp not in partitions]
        self.reassigned = True

    # -- the loop ------------------------------------------------------------------
    def run(self) -> StreamReport:
        previous = self._install_signals()
        started = time.monotonic()
        keep_heap()  # batch buffers stay in the process instead of being zero-filled anew
        try:
            self.p.open(self.console)
            if self.options.from_offsets or self.options.from_timestamp:
                self.replay_offsets = replay_targets(
                    self.p.consumer, self.options, windowed=self.p.windows is not None
                )
            self.first_offsets = self.p.retrying(
                lambda: first_offsets(self.p.consumer, self.p.config.start), "reading offsets"
            )
            if self.options.once and not self.first_offsets:
                self._nothing_matches()  # a pattern no topic matches: nothing is there
                return self.report
            self.p.consumer.subscribe(self._on_assign, self._on_revoke)
            self._loop()
        finally:
            self._restore_signals(previous)
            self.p.close()
            self.report.seconds = time.monotonic() - started
            self.report.offsets = _named(self.p.committed.offsets)
            self.report.commits = self.status.commits
            self.report.dead_letters = self.status.dead_letters
            self.report.windows = self.status.windows
        return self.report

    def _nothing_matches(self) -> None:
        settings = self.p.settings
        self.console.warn(
            f"stream '{self.p.name}': no topic on {settings.bootstrap} matches the pattern "
            f"'{settings.pattern}'; --once has nothing to read"
        )
        self.report.stopped_by = "once"

    def _loop(self) -> None:
        from duckpipe.streaming.batch import Batcher

        batcher = Batcher(self.p.consumer, self.p.config.max_records, self.p.config.max_interval)
        idle_since = time.monotonic()
        with self.console.progress(f"stream {self.p.name}") as bar:
            self._bar = bar
            try:
                self._run_batches(batcher, idle_since)
            finally:
                self.committer.drain()  # the batch in flight is committed before we stop
                self._commit_group(final=True)
            self._show_status()
        self.report.stopped_by = self.stopping or "end"

    def _run_batches(self, batcher: Batcher, idle_since: float) -> None:
        while self.stopping is None:
            if self.reassigned:
                self.reassigned = False
                self._after_assignment(batcher)
                continue
            batch = self.p.retrying(
                lambda: batcher.collect(
                    self.expected,
                    interrupted=self._interrupted,
                    stopping=lambda: self.stopping is not None,
                ),
                "reading from Kafka",
            )
            if batch is None:
                continue
            held = False
            if batch.size:
                self.p.kafka.reachable()
            if batch.size or self._position_moved(batch):
                held = self.catch_up.submit_cut(batch, batcher, self._submit, self._position_moved)
                idle_since = time.monotonic()
            self._commit_group()
            self._tick()
            if self.options.once and not held and self._caught_up(batch):
                self.stopping = self.stopping or "once"
            idle = self.options.idle_exit
            if idle is not None and time.monotonic() - idle_since > idle:
                self.stopping = self.stopping or "idle"

    def _interrupted(self) -> bool:
        """Called after every poll: keeps the status line live and reports reassignments."""
        self._tick()
        self.committer.check()
        if self.assign_error is not None:
            error, self.assign_error = self.assign_error, None
            raise error
        self._probe_broker()
        return self.reassigned

    def _probe_broker(self) -> None:
        """While the broker is away: ask it every ``PROBE_EVERY`` seconds, give up when due.

        Polls go quiet during an outage (the client reconnects on its own), so without a
        probe a quiet topic could not tell a broker that came back from one still away.
        """
        kafka = self.p.kafka
        kafka.check()
        now = time.monotonic()
        if not kafka.outage.active or now - self._probed < PROBE_EVERY:
            return
        self._probed = now
        if self.p.consumer.reachable(1.0):
            kafka.reachable()
        else:
            kafka.failed("no answer to a metadata request", attempted=now)

    def _position_moved(self, batch: MicroBatch) -> bool:
        return any(self.submitted.get(tp) != o for tp, o in batch.end.items())

    def _caught_up(self, batch: MicroBatch) -> bool:
        if not self.assigned:
            return False
        if self.ends is None:
            consumer, assigned = self.p.consumer, self.assigned
            self.ends = self.p.retrying(lambda: consumer.end_offsets(assigned), "reading offsets")
        return all(
            batch.end.get(tp, -1) >= end or (tp not in batch.end and self.unresolved.get(tp) == END)
            for tp, end in self.ends.items()
        )

    def _submit(
        self, batch: MicroBatch, *, hold_watermark: bool = False, watermark_to: int | None = None
    ) -> None:
        """Hand the batch to the committer (it processes and commits while we poll on)."""
        from duckpipe.streaming.committer import Job

        idle = None
        if self.p.windows is not None:
            idle = {tp: False for tp in self.assigned}  # unknown lag counts as busy
            with contextlib.suppress(Exception):
                lag = self.p.consumer.lag()
                idle = {tp: lag.get(tp, 1) == 0 for tp in self.assigned}
        replaying = self._replaying(batch)
        job = Job(batch.records, batch.end, replaying, idle, None, hold_watermark, watermark_to)
        self.committer.submit(job)
        self.submitted.update(batch.end)
        self.report.records += batch.size
        self.report.batches += 1
        self.console.event(  # one per micro-batch handed on, as Spark's progress events
            "stream_batch",
            stream=self.p.name,
            batch=self.report.batches,
            records=batch.size,
            polled_s=round(batch.seconds, 3),
            ends=_named(batch.end),
        )

    def _commit_group(self, final: bool = False) -> None:
        """Group offsets for lag monitoring, after the lake commit (never the source of truth).

        The last one, when the stream stops, waits for the broker unless it is away.
        """
        self.committer.check()
        done = self.committer.take_committed()
        if done is not None and self.p.producer is None:
            self.p.commit_group(done, wait=final and not self.p.outage.active)

    def _replaying(self, batch: MicroBatch) -> bool:
        if not self.replay_until:
            return False
        done = [tp for tp, until in self.replay_until.items() if batch.end.get(tp, 0) >= until]
        windows_behind = (
            self.p.windows is not None
            and self.replay_watermark is not None
            and (self.p.windows.watermark or 0) < self.replay_watermark
        )
        active = bool(self.replay_until) or windows_behind
        for tp in done:
            self.replay_until.pop(tp, None)
        return active

    def _after_assignment(self, batcher: Batcher) -> None:
        """Work a new assignment needs that may talk to Kafka (outside the callback)."""
        resolved = resolve_starts(self.p.consumer, self.unresolved, self.p.retrying)
        for tp, offset in resolved.items():
            self.expected.setdefault(tp, offset)
        self.p.retrying(lambda: self.p.resume_topic(self.assigned), "reading group offsets")
        unpublished = self.catch_up.begin(self.assigned, self.expected, self.fresh_windows)
        if unpublished:
            self.console.event(
                "stream_catching_up", stream=self.p.name, published=_named(unpublished)
            )
        self._restore(batcher)

    def _restore(self, batcher: Batcher) -> None:
        """Re-read what open windows need, up to the committed offsets."""
        if self.p.windows is None:
            return
        if self.fresh_windows:  # a replay rebuilds windows from its own start
            self.p.windows.restore(_empty(), None)
            return
        pending = dict(self.restore_until)
        ranges = {tp: (self.expected.get(tp, 0), until) for tp, until in pending.items()}
        replayed: list[pa.Table] = []
        carried, batcher.carry = batcher.carry, []
        for chunk in carried:  # records polled when the assignment arrived
            self._set_aside(in_order(chunk, self.expected), replayed, batcher)
        while pending and self.stopping is None:
            chunk = self.p.retrying(
                lambda: batcher.consumer.poll(self.p.config.max_records, 0.2),
                "reading from Kafka",
            )
            if self._interrupted():
                batcher.carry = [chunk] if chunk is not None else []
                batcher.accepted = []  # stale: the new assignment re-reads them
                return
            if chunk is not None:
                self._set_aside(in_order(chunk, self.expected), replayed, batcher)
            for tp in list(pending):
                position = batcher.consumer.position(tp)
                if position is not None and position >= pending[tp]:
                    pending.pop(tp)
        restored = self.p.restore_windows(replayed, ranges)
        self.console.event("stream_restored", stream=self.p.name, buffered_events=restored)

    def _set_aside(self, chunk: pa.Table, replayed: list[pa.Table], batcher: Batcher) -> None:
        """Records before the committed offsets rebuild windows; the rest start the next batch."""
        old, new = split_before(chunk, self.restore_until)
        replayed.append(old)
        if new.num_rows:
            batcher.accepted.append(new)

    # -- status and signals --------------------------------------------------------
    def _tick(self) -> None:
        if time.monotonic() - self._last_status >= self.options.status_interval:
            self._show_status()

    def _show_status(self) -> None:
        self._last_status = time.monotonic()
        with contextlib.suppress(Exception):  # lag is informative; a hiccup must not stop us
            self.status.lag = self.p.consumer.lag()
        self.status.tick()
        if self._bar is not None:
            shown, self._shown = self._shown, self.status.records
            self._bar.advance(self.status.records - shown, rate=self.status.line())
        self.console.event("stream_status", **self.status.fields())

    def _install_signals(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}

        def stop(signum: int, frame: Any) -> None:
            if self.stopping is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.stopping = signal.Signals(signum).name

        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, stop)
        except ValueError:  # not the main thread: the caller stops us another way
            pass
        return previous

    def _restore_signals(self, previous: dict[int, Any]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def stop(self, reason: str = "stopped") -> None:
        """Ask the loop to finish the current batch, commit it and return."""
        self.stopping = reason


def _empty() -> pa.Table:
    import pyarrow as pa

    return pa.table({})


def _named(offsets: Offsets) -> dict[str, dict[str, int]]:
    return nest(offsets)


__all__ = ["StreamOptions", "StreamReport", "StreamRunner", "run_stream"]
