"""A stream's quality gate: the SodaCL checks of its table, run on every micro-batch before the commit.

A stream whose output table has checks (``checks for <table>:`` in ``checks/*.yml``, the
same files and dataset names ``duckpipe run`` and ``duckpipe check`` use) audits the rows
each micro-batch is about to publish, after decoding, SQL and windows and before the DLQ
and lake writes. soda-core runs the checks (``duckpipe.quality``), against DuckDB, with
the table's name bound to the batch's rows.

Semantics, decided for streams:

- **Checks run per micro-batch.** A stream publishes one batch at a time, so its gate sees
  one batch at a time, the way a unit test sees its fixture. Row-level checks (missing,
  invalid, values, failed rows), schema and freshness mean the same on a batch as on the
  table. Aggregates are the batch's: ``row_count``, ``avg``/``sum`` and duplicates *within*
  the batch. ``duckpipe check`` runs the same checks on the whole table. At start the
  stream warns once about each ``row_count`` and ``duplicate_*`` check, which see a
  single batch. A batch with no output rows publishes nothing and is not audited.
- **Reference checks** read the other dataset from the lake, at its current version for
  every batch. Other cross-dataset SQL (a failed-rows query joining lake tables) is not
  supported in streams: the gate's DuckDB sees the batch and reference targets only.
- **A failing ``fail`` check**, ``on_check_failure: stop`` (the default): the batch is not
  committed, the lake keeps its previous version and position (the next start re-reads
  the batch from Kafka, nothing is lost) and the stream stops with ``QualityGateFailed``
  naming the stream, the checks, the dataset and the offsets of the batch (exit code 1).
  ``on_check_failure: dlq``: the messages behind the failing rows go to the stream's DLQ
  (table, and topic when configured) with the check in ``_reason``, the rest is committed
  and the stream goes on. That needs checks that identify rows (missing, invalid,
  duplicate, reference, failed rows) and output rows that keep ``_topic``, ``_partition``
  and ``_offset``; otherwise the batch stops as with ``stop``, and the error says why.
  Windowed streams cannot use ``dlq`` (a window row is not a message): refused at start.
- **``warn`` checks** never block: a console warning (at most once a minute per check)
  and a ``check`` event for every batch they warn on.
- **No quarantine table** for streams: the DLQ is the stream's quarantine (offsets, raw
  message, reason); with ``stop`` the rows stay in Kafka.

Cost: the checks are read once at start; a stream whose table has no checks (or run with
``--skip-checks``, or ``quality.enabled: false``) never imports soda-core. With checks,
soda-core is imported and the checks parsed once at start, so a SodaCL syntax error or
an unknown check option stops the stream before it reads anything (an unknown metric or
column is found on the first batch, before its commit). Each batch then runs one soda
scan (``benchmarks/streaming/bench_gate.py`` measures it against the same stream
without checks).
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from duckpipe.core.errors import ConfigError, QualityGateFailed

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from duckpipe.config import StreamConfig
    from duckpipe.core.console import Console
    from duckpipe.engine import Engine
    from duckpipe.project import Project
    from duckpipe.quality.results import CheckResult
    from duckpipe.quality.sodacl import ChecksSuite
    from duckpipe.sinks.base import Sink
    from duckpipe.streaming.pipeline import BatchResult

ROW_KEY = ("_topic", "_partition", "_offset")
PER_BATCH_METRICS = ("row_count", "duplicate_count", "duplicate_percent")
WARN_EVERY = 60.0
"""Seconds between two console warnings of the same ``warn`` check."""


def open_gate(
    project: Project,
    stream: str,
    config: StreamConfig,
    *,
    sink: Sink,
    engine: Engine,
    console: Console,
    skip: bool = False,
) -> StreamGate | None:
    """The gate of stream ``stream``, or None when its table has no checks (soda is not imported)."""
    from duckpipe.quality.datasets import validate_suite

    if skip or not project.config.quality.enabled:
        return None
    suite = validate_suite(project, sink)
    if config.table not in suite.datasets():
        return None
    if config.on_check_failure == "dlq" and config.window is not None:
        raise ConfigError(
            f"stream '{stream}' is windowed, so a failing check cannot send its rows to the DLQ "
            "(a window row is not a Kafka message)",
            where=f"streams.{stream}.on_check_failure",
            hint="use on_check_failure: stop, or check the stream's raw table instead",
        )
    gate = StreamGate(project, stream, config, suite, sink=sink, engine=engine, console=console)
    gate.prepare()
    return gate


class StreamGate:
    """Audits each micro-batch's output with the checks of the stream's table."""

    def __init__(
        self,
        project: Project,
        stream: str,
        config: StreamConfig,
        suite: ChecksSuite,
        *,
        sink: Sink,
        engine: Engine,
        console: Console,
    ) -> None:
        self.project = project
        self.stream = stream
        self.dataset = config.table
        self.policy = config.on_check_failure
        self.suite = suite
        self.sink = sink
        self.engine = engine
        self.console = console
        self.targets: set[str] = set()
        self.batches = 0
        self.warned: dict[str, int] = {}
        self._last_warning: dict[str, float] = {}

    def prepare(self) -> None:
        """Import soda-core and parse the checks once, before the first batch."""
        from duckpipe.quality.checker import parse_checks_for

        con = self.engine.con.cursor()
        try:
            specs = parse_checks_for(con, self.suite, self.dataset)
        finally:
            con.close()
        self.targets = {s.target for s, _ in specs if s.target and s.target != self.dataset}
        for spec, where in specs:
            if spec.metric in PER_BATCH_METRICS:
                self.console.warn(
                    f"stream {self.stream}: '{spec.text}' ({where}) is checked on each "
                    f"micro-batch, not on the whole table '{self.dataset}' "
                    "(`duckpipe check` checks the table)"
                )

    def audit(self, result: BatchResult, records: pa.Table) -> BatchResult:
        """``result`` when every ``fail`` check passes on its output; raises or moves rows to the DLQ."""
        if not result.output.num_rows:
            return result
        from duckpipe.quality.checker import run_checks
        from duckpipe.quality.datasets import known_datasets

        quality = self.project.config.quality
        con = self.engine.con.cursor()
        try:
            con.register(self.dataset, result.output)
            for target in self.targets:
                if self.sink.exists(target):
                    con.register(target, self.sink.dataset(target))
            run = run_checks(
                con,
                self.suite,
                self.dataset,
                samples_limit=quality.samples_limit,
                known_datasets=lambda: known_datasets(self.project, self.sink),
            )
            self.batches += 1
            self._report(run.results, run.warnings)
            failing = run.failing
            if not failing:
                return result
            if self.policy == "stop":
                raise self._failed(failing, records)
            return self._to_dead_letters(result, records, failing, con)
        finally:
            con.close()

    # -- dlq -----------------------------------------------------------------------
    def _to_dead_letters(
        self,
        result: BatchResult,
        records: pa.Table,
        failing: list[CheckResult],
        con: duckdb.DuckDBPyConnection,
    ) -> BatchResult:
        import pyarrow as pa
        import pyarrow.compute as pc

        from duckpipe.quality.checker import strip_sql

        missing = [c for c in ROW_KEY if c not in result.output.column_names]
        if missing:
            raise self._failed(
                failing,
                records,
                why=f"its output rows have no {', '.join(missing)} column, so they cannot be "
                "traced to their messages",
            )
        opaque = [r for r in failing if r.failing_sql is None]
        if opaque:
            raise self._failed(
                failing, records, why=f"'{opaque[0].name}' does not identify failing rows"
            )
        reasons: dict[str, list[str]] = {}
        for check in failing:
            assert check.failing_sql is not None
            rows = con.sql(
                "select _topic, _partition, _offset "
                f"from ({strip_sql(check.failing_sql)}) as failing"
            ).to_arrow_table()
            for key in _keys(rows).to_pylist():
                reasons.setdefault(key, []).append(
                    f"check '{check.name}' failed ({check.location})"
                )
        failed = pa.array(list(reasons), pa.string())
        output = result.output.filter(pc.invert(pc.is_in(_keys(result.output), value_set=failed)))
        record_keys = _keys(records)
        dead = records.filter(pc.is_in(record_keys, value_set=failed))
        why = ["; ".join(reasons[k]) for k in _keys(dead).to_pylist()]
        schema = result.rejects.schema
        message = [c for c in schema.names if c != "_reason"]
        dead = dead.select(message).append_column("_reason", pa.array(why, pa.string()))
        dead = dead.select(schema.names).cast(schema)
        rejects = pa.concat_tables([result.rejects, dead])
        self.console.event(
            "stream_checks_dead_lettered", stream=self.stream, dataset=self.dataset, rows=len(why)
        )
        return dataclasses.replace(result, output=output, rejects=rejects)

    # -- reporting -----------------------------------------------------------------
    def _failed(
        self, failing: list[CheckResult], records: pa.Table, *, why: str | None = None
    ) -> QualityGateFailed:
        noun = "check" if len(failing) == 1 else "checks"
        reasons = "; ".join(f"{r.summary()} at {r.location}" for r in failing)
        message = (
            f"stream '{self.stream}': {len(failing)} failing {noun} on dataset '{self.dataset}' "
            f"in the batch at offsets {offset_ranges(records)}: {reasons}"
        )
        hint = (
            "nothing of this batch was committed: the lake keeps its previous version and "
            "position, and the next start re-reads these offsets; fix the data or the check"
        )
        if why is not None:
            message += f"; its rows cannot go to the DLQ: {why}"
        else:
            hint += f", or set streams.{self.stream}.on_check_failure: dlq"
        return QualityGateFailed(message, where=failing[0].location, hint=hint)

    def _report(self, results: list[CheckResult], warnings: list[str]) -> None:
        for warning in warnings:
            self._warn(warning, f"{self.dataset}: {warning}")
        for result in results:
            if result.passed:
                continue
            self.console.event("check", stream=self.stream, **result.to_dict())
            if not result.blocks:
                self.warned[result.name] = self.warned.get(result.name, 0) + 1
                count = self.warned[result.name]
                self._warn(
                    result.name,
                    f"stream {self.stream}: {result.dataset}: {result.summary()} "
                    f"({result.location}; warned on {count} of {self.batches} batches)",
                )

    def _warn(self, key: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last_warning.get(key, -WARN_EVERY) >= WARN_EVERY:
            self._last_warning[key] = now
            self.console.warn(message)


def offset_ranges(records: pa.Table) -> str:
    """``clicks/0:120-239, clicks/1:118-236``: the offsets of ``records`` per partition."""
    if not records.num_rows:
        return "-"
    grouped = records.group_by(["_topic", "_partition"]).aggregate(
        [("_offset", "min"), ("_offset", "max")]
    )
    return ", ".join(
        f"{row['_topic']}/{row['_partition']}:{row['_offset_min']}-{row['_offset_max']}"
        for row in sorted(grouped.to_pylist(), key=lambda r: (r["_topic"], r["_partition"]))
    )


def _keys(rows: pa.Table) -> pa.ChunkedArray:
    """One text key per row: topic, partition and offset."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(
        rows.column("_topic").cast(pa.string()),
        pc.cast(rows.column("_partition"), pa.string()),
        pc.cast(rows.column("_offset"), pa.string()),
        "\x00",
    )
