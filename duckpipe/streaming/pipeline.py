"""One stream's moving parts: consumer, decoder, SQL / windows, dead letters and the lake commit.

``process`` turns a micro-batch into rows to publish and rejects; ``commit`` publishes
them exactly once. The runner decides when; this module decides how.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from duckpipe.core.errors import (
    CommitConflict,
    ConfigError,
    DuckpipeError,
    StreamFenced,
)
from duckpipe.kafka.positions import flatten, nest
from duckpipe.sinks.base import MergeSpec, Position, WriteMode
from duckpipe.streaming.outage import Reconnector
from duckpipe.streaming.position import StreamPosition, writer_id
from duckpipe.streaming.resolve import kafka_source, present_keys, static_member, stream_group
from duckpipe.streaming.status import StreamStatus
from duckpipe.streaming.tuning import duckdb_threads

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import StreamConfig
    from duckpipe.core.console import Console
    from duckpipe.engine import Engine
    from duckpipe.kafka.client import Consumer, TransactionalProducer
    from duckpipe.kafka.decode import Decoded, JsonDecoder
    from duckpipe.kafka.positions import Offsets, TopicPartition
    from duckpipe.project import Project
    from duckpipe.sinks.base import Sink
    from duckpipe.streaming.checks import StreamChecks
    from duckpipe.streaming.dlq import StreamDeadLetters
    from duckpipe.streaming.topics import TopicOutputs
    from duckpipe.streaming.windows import Windower

T = TypeVar("T")
OFFSET_KEY = ["_topic", "_partition", "_offset"]


@dataclass
class BatchResult:
    """A processed micro-batch: rows to publish, rejects for the DLQ."""

    output: pa.Table
    rejects: pa.Table
    windows: int = 0


class StreamPipeline:
    """Everything ``duckpipe stream NAME`` needs, opened lazily by ``open``."""

    def __init__(
        self, project: Project, name: str, config: StreamConfig, client: str | None = None
    ) -> None:
        self.project = project
        self.name = name
        self.config = config
        self.source = kafka_source(project, name, config)
        self.client = client or self.source.client
        self.writer = writer_id(name)
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.status = StreamStatus(name)
        self.committed = StreamPosition()
        self.stop_requested: Callable[[], bool] = lambda: False
        self.windows: Windower | None = None
        self._replay_floor: dict[tuple[str, int], int] = {}
        self.console: Console | None = None
        self._warned: set[str] = set()
        self.kafka = Reconnector(name, self.source, self.status, lambda: self.stop_requested())
        self.outage = self.kafka.outage
        self.skip_checks = False
        self.checks: StreamChecks | None = None

    # -- lifecycle -----------------------------------------------------------------
    def open(self, console: Console) -> None:
        from duckpipe.engine import Engine
        from duckpipe.kafka.backends import open_consumer
        from duckpipe.kafka.settings import kafka_settings
        from duckpipe.sinks import open_sink
        from duckpipe.streaming.dlq import StreamDeadLetters

        self.console = self.kafka.console = console
        project = self.project
        self.sink: Sink = open_sink(
            project.lake_uri,
            format=self.config.format or project.config.format,
            storage_options=project.config.storage_options,
            catalog=project.config.catalog,
            state_dir=project.state_dir,
        )
        self.engine: Engine = Engine(threads=duckdb_threads())
        self.engine.execute("set TimeZone = 'UTC'")
        self.dead: StreamDeadLetters = StreamDeadLetters(self.sink, self.name)
        settings = kafka_settings(
            self.source,
            group_id=stream_group(self.source, self.name),
            instance_id=static_member(self.source, self.name),
            start=self.config.start,
            max_poll_records=self.config.max_records,
        )
        self.settings = settings
        self.consumer: Consumer = self.retrying(
            lambda: open_consumer(settings, self.client, on_error=self.kafka.client_error),
            "connecting to Kafka",
        )
        self.producer: TransactionalProducer | None = None
        self.outputs: TopicOutputs | None = None
        if self.config.dlq_topic or self.config.topic:
            from duckpipe.streaming.topics import TopicOutputs, check_topics

            check_topics(self.name, self.config, self.source)
            self.outputs = TopicOutputs.open(
                self.name, self.config, settings, self.client, self.retrying
            )
            self.producer = self.outputs.producer
        self.decoder = self._decoder()
        if self.config.window is not None:
            from duckpipe.streaming.windows import Windower

            self.windows = Windower(
                self.engine,
                self.config.window,
                key=self.config.key,
                sql=self.config.sql,
                mode=self.config.mode,
                where=f"streams.{self.name}",
            )
        from duckpipe.streaming.checks import open_checks

        self.checks = open_checks(
            project,
            self.name,
            self.config,
            sink=self.sink,
            engine=self.engine,
            console=console,
            skip=self.skip_checks,
        )

    def _decoder(self) -> JsonDecoder | None:
        from duckpipe.kafka.decode import META_COLUMNS, JsonDecoder, arrow_to_duckdb

        if self.source.value_format == "bytes":
            return None
        known: dict[str, str] = {}
        plain = self.config.window is None and self.config.sql is None
        if plain and self.sink.exists(self.config.table):
            schema = self.sink.schema(self.config.table)
            payload = [f for f in schema if f.name not in META_COLUMNS]
            known = arrow_to_duckdb(self.engine, payload)
        return JsonDecoder(  # its own connection: batches are decoded ahead of the commits
            self.engine.cursor(),
            self.source.contract,
            known=known,
            where=f"sources.{self.config.source}",
        )

    def close(self) -> None:
        for closing in ("producer", "consumer", "engine"):
            thing = getattr(self, closing, None)
            if thing is not None:
                with contextlib.suppress(Exception):  # best effort: commits are done
                    thing.close()

    def resume(self) -> StreamPosition:
        """Read the committed position (lake) and where the DLQ table and topic are complete."""
        stored = self.sink.read_position(self.config.table, self.writer)
        self.committed = StreamPosition.from_value(stored.value if stored else None)
        self.dead.resume()
        return self.committed

    def resume_topic(self, partitions: list[TopicPartition]) -> None:
        """Where the output topics are complete: the group offsets their transactions committed."""
        if self.outputs is not None:
            self.outputs.resume(self.consumer, partitions)

    # -- processing ----------------------------------------------------------------
    def decode(self, records: pa.Table) -> Decoded | None:
        """The JSON step of ``process``: no stream state, so it may run ahead of the commits."""
        return self.decoder.decode(records) if self.decoder is not None else None

    def process(
        self,
        records: pa.Table,
        *,
        decoded: Decoded | None = None,
        replaying: bool = False,
        idle: dict[TopicPartition, bool] | None = None,
        hold_watermark: bool = False,
        watermark_to: int | None = None,
    ) -> BatchResult:
        """Decode, validate, transform or window ``records``.

        ``decoded``: what ``decode`` made of ``records`` already. ``hold_watermark`` / ``watermark_to`` steer the windows' watermark while records a
        Kafka transaction already published are processed again (see ``topics.py``).
        """
        import pyarrow as pa

        if decoded is None:
            decoded = self.decode(records)
        if decoded is None:
            rows, rejects = records.append_column("value", records.column("_value")), None
        else:
            rows, rejects = decoded.rows, decoded.rejects
        parts = [rejects] if rejects is not None and rejects.num_rows else []
        if self.windows is not None:
            timed, bad_times = self.windows.event_times(rows)
            if replaying:
                self._note_replay_start(timed)
            step = self.windows.step(timed, idle, hold=hold_watermark, watermark_to=watermark_to)
            output, emitted = step.output, step.emitted_windows
            if replaying and self._replay_floor and "window_start" in output.column_names:
                output = self._complete_windows(output)
            parts += [t for t in (bad_times, step.late) if t.num_rows]
        else:
            data = rows.drop_columns(["_value"])
            if self.config.sql:
                self.engine.register("batch", data)
                self.engine.register(self.config.source, data)
                output = self.engine.arrow(self.config.sql, where=f"streams.{self.name}.sql")
            else:
                output = data
            emitted = 0
        from duckpipe.ingest.dlq import MESSAGE_COLUMNS

        empty = records.schema.empty_table().append_column("_reason", pa.array([], pa.string()))
        columns = list(MESSAGE_COLUMNS)
        dead = [p.select(columns).cast(empty.select(columns).schema) for p in parts]
        rejected = pa.concat_tables(dead) if dead else empty
        if self.checks is not None:
            output, rejected = self.checks.audit(output, rejected, records)
        return BatchResult(output, rejected, emitted)

    def _note_replay_start(self, timed: pa.Table) -> None:
        """The first event time replayed in each partition: windows before it are incomplete.

        A replay from a partition's first offset (0) reads all of it, so none of its
        windows is incomplete: a Kappa rebuild from offset zero republishes every window.
        """
        if not timed.num_rows:
            return
        self.engine.register("_dp_replayed", timed)
        try:
            firsts = self.engine.arrow(
                "select _topic, _partition, arg_min(_event_us, _offset) as t, "
                "min(_offset) as first_offset from _dp_replayed group by all"
            ).to_pylist()
        finally:
            self.engine.unregister("_dp_replayed")
        for row in firsts:
            floor = -(2**63) if row["first_offset"] == 0 else row["t"]
            self._replay_floor.setdefault((row["_topic"], row["_partition"]), floor)

    def _complete_windows(self, output: pa.Table) -> pa.Table:
        import pyarrow as pa
        import pyarrow.compute as pc

        floor = max(self._replay_floor.values())
        starts = output.column("window_start").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        return output.filter(pc.greater_equal(starts, floor))

    # -- committing ----------------------------------------------------------------
    def commit(
        self, result: BatchResult, end: Offsets, replaying: bool, group_metadata: Any = None
    ) -> None:
        """DLQ table -> Kafka transaction (derived topic, DLQ topic) -> lake commit with offsets."""
        current = self._fence(end)
        offsets = dict(current.offsets)
        offsets.update(self.committed.advanced(end))
        position = StreamPosition(offsets=offsets)
        if self.windows is not None:
            position.replay_from = flatten(self.windows.replay_from())
            position.watermark_us = self.windows.watermark
            position.event_time = dict(self.windows.event_time)
        dead = self.dead.write(result.rejects, end, self.run_id)
        if self.outputs is not None and self.unpublished(end):
            # The group's generation as of now: a client may have rejoined since the batch
            # was polled (the snapshot is thread-safe in both clients).
            group = group_metadata or self.consumer.group_metadata()
            watermark = self.windows.watermark if self.windows is not None else None
            self.outputs.publish(result.output, result.rejects, end, group, watermark)
        mode, merge = self._write_mode(result.output, replaying)
        try:
            self.sink.write(
                self.config.table,
                result.output,
                mode=mode,
                merge=merge,
                partition_by=self.config.partition_by or None,
                position=Position(self.writer, position.to_value()),
                schema_mode="evolve",
            )
        except CommitConflict as exc:
            if exc.retryable:
                raise
            raise StreamFenced(
                f"another instance of stream '{self.name}' committed while this one was "
                f"committing: {exc.message}",
                where=self.config.table,
                hint="run one instance per stream; the other instance carries on",
            ) from exc
        self.committed = position
        self.status.commits += 1
        self.status.dead_letters += dead
        self.status.windows += result.windows

    def unpublished(self, end: Offsets) -> bool:
        """Whether a batch ending at ``end`` holds records the output topics do not have yet.

        The runner never lets a batch straddle the published offsets, so a batch is
        either published already (a restart or replay re-reads it) or not at all.
        """
        recorded = self.outputs.recorded if self.outputs is not None else {}
        return any(tp not in recorded or o > recorded[tp] for tp, o in end.items())

    def commit_group(self, end: Offsets, *, wait: bool = False) -> None:
        """Group offsets after the lake commit, for lag monitoring only (the lake holds the truth).

        Sent without waiting: a commit blocked on a lost coordinator would stall the poll
        loop, and a static member that cannot run its rebalance callbacks in time is fenced.
        """
        try:
            self.consumer.commit(end, wait=wait)
        except DuckpipeError as exc:
            self._warn_once("group-commit", f"group offsets not committed: {exc}")

    def _fence(self, end: Offsets) -> StreamPosition:
        """The stored position, after checking no other instance moved our partitions."""
        stored = self.sink.read_position(self.config.table, self.writer)
        current = StreamPosition.from_value(stored.value if stored else None)
        moved = [tp for tp in end if current.offsets.get(tp) != self.committed.offsets.get(tp)]
        if moved:
            tp = moved[0]
            raise StreamFenced(
                f"another instance of stream '{self.name}' committed {tp[0]}/{tp[1]} up to "
                f"offset {current.offsets.get(tp)} (this instance expected "
                f"{self.committed.offsets.get(tp)}; stored {nest(current.offsets)}); "
                "this instance stops without writing",
                where=self.config.table,
                hint="run one instance per stream; the other instance carries on",
            )
        return current

    def _write_mode(self, output: pa.Table, replaying: bool) -> tuple[WriteMode, MergeSpec | None]:
        if not output.num_rows:
            return "append", None
        if self.windows is not None:
            keys = [*self.config.key, "window_start"]
            if self.config.mode == "update" or replaying:
                return "merge", MergeSpec(keys=present_keys(keys, output, self.name))
            return "append", None
        if self.config.mode == "update":
            if not self.config.key:
                raise ConfigError(
                    f"stream '{self.name}' has mode 'update' but no key",
                    where=f"streams.{self.name}.key",
                    hint="name the columns that identify a row, e.g. key: [id]",
                )
            return "merge", MergeSpec(keys=present_keys(self.config.key, output, self.name))
        if replaying:
            return "merge", MergeSpec(keys=present_keys(OFFSET_KEY, output, self.name))
        return "append", None

    # -- windows -------------------------------------------------------------------
    def restore_windows(
        self, replayed: list[pa.Table] | None, ranges: dict[tuple[str, int], tuple[int, int]]
    ) -> int:
        """Rebuild the window buffer from re-read records, leaving out dead-lettered offsets."""
        import pyarrow as pa

        assert self.windows is not None
        watermark, event_time = self.committed.watermark_us, self.committed.event_time
        if not replayed:
            return self.windows.restore(pa.table({}), watermark, event_time)
        records = pa.concat_tables(replayed)
        rows = records if self.decoder is None else self.decoder.decode(records).rows
        timed, _ = self.windows.event_times(rows)
        excluded = self.dead.offsets_in(ranges)
        self.engine.register("_dp_timed_in", timed)
        self.engine.register("_dp_excluded", excluded)
        try:
            kept = self.engine.arrow(
                "select * from _dp_timed_in anti join _dp_excluded using (_topic, _partition, _offset)"
            )
        finally:
            self.engine.unregister("_dp_timed_in")
            self.engine.unregister("_dp_excluded")
        return self.windows.restore(kept, watermark, event_time)

    # -- resilience ----------------------------------------------------------------
    def retrying(self, attempt: Callable[[], T], what: str) -> T:
        """Run ``attempt``; retry transient failures with capped exponential backoff.

        Kafka failures count towards the broker outage, which gives up after
        ``give_up_after`` (``outage.Reconnector``); lake failures are retried until stopped.
        """
        return self.kafka.retrying(attempt, what)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned and self.console is not None:
            self._warned.add(key)
            self.console.warn(message)

    def _info(self, message: str) -> None:
        if self.console is not None:
            self.console.info(message)
