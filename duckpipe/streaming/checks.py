"""A stream's checks: the publish gate on every micro-batch before the commit, and what a failure does.

A stream whose output table has checks (``checks for <table>:`` in ``checks/*.yml``, the
same files and dataset names ``duckpipe run`` and ``duckpipe check`` use) audits the rows
each micro-batch is about to publish, after decoding, SQL and windows and before the DLQ
and lake writes. The project's one publish gate (``duckpipe.quality.gate``) runs them
with soda-core against DuckDB, the table's name bound to the batch's rows; this module
decides what a failing check does to the batch.

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

import time
from typing import TYPE_CHECKING

from duckpipe.core.errors import ConfigError, QualityGateFailed
from duckpipe.quality.gate import PublishGate, row_keys

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import StreamConfig
    from duckpipe.core.console import Console
    from duckpipe.engine import Engine
    from duckpipe.project import Project
    from duckpipe.quality.checker import ChecksRun
    from duckpipe.quality.gate import AuditResult
    from duckpipe.quality.results import CheckResult
    from duckpipe.sinks.base import Sink

ROW_KEY = ("_topic", "_partition", "_offset")
PER_BATCH_METRICS = ("row_count", "duplicate_count", "duplicate_percent")
WARN_EVERY = 60.0
"""Seconds between two console warnings of the same ``warn`` check."""


def open_checks(
    project: Project,
    stream: str,
    config: StreamConfig,
    *,
    sink: Sink,
    engine: Engine,
    console: Console,
    skip: bool = False,
) -> StreamChecks | None:
    """The checks of stream ``stream``, or None when its table has none (soda is not imported)."""
    gate = PublishGate(project, sink, engine, console, skip=skip)
    if not gate.has_checks(config.table):
        return None
    if config.on_check_failure == "dlq" and config.window is not None:
        raise ConfigError(
            f"stream '{stream}' is windowed, so a failing check cannot send its rows to the DLQ "
            "(a window row is not a Kafka message)",
            where=f"streams.{stream}.on_check_failure",
            hint="use on_check_failure: stop, or check the stream's raw table instead",
        )
    checks = StreamChecks(stream, config, gate, console)
    checks.prepare()
    return checks


class StreamChecks:
    """Audits each micro-batch's output with the checks of the stream's table."""

    def __init__(
        self, stream: str, config: StreamConfig, gate: PublishGate, console: Console
    ) -> None:
        self.stream = stream
        self.dataset = config.table
        self.policy = config.on_check_failure
        self.console = console
        self.gate = gate
        gate.reporter = self._report  # warnings at most once a minute, counted per batch
        self.batches = 0
        self.warned: dict[str, int] = {}
        self._last_warning: dict[str, float] = {}

    def prepare(self) -> None:
        """Import soda-core and parse the checks once, before the first batch."""
        for spec, where in self.gate.prepare(self.dataset):
            if spec.metric in PER_BATCH_METRICS:
                self.console.warn(
                    f"stream {self.stream}: '{spec.text}' ({where}) is checked on each "
                    f"micro-batch, not on the whole table '{self.dataset}' "
                    "(`duckpipe check` checks the table)"
                )

    def audit(
        self, output: pa.Table, rejects: pa.Table, records: pa.Table
    ) -> tuple[pa.Table, pa.Table]:
        """``output`` and ``rejects`` when every ``fail`` check passes; raises or moves rows to the DLQ."""
        if not output.num_rows:
            return output, rejects
        key = ROW_KEY if self.policy == "dlq" else ()
        self.batches += 1
        result = self.gate.audit(self.dataset, output, row_key=key)
        if result.passed:
            return output, rejects
        failing = [r for r in result.results if r.blocks]
        if self.policy == "stop":
            raise self._failed(failing, records)
        return self._to_dead_letters(output, rejects, records, failing, result)

    # -- dlq -----------------------------------------------------------------------
    def _to_dead_letters(
        self,
        output: pa.Table,
        rejects: pa.Table,
        records: pa.Table,
        failing: list[CheckResult],
        result: AuditResult,
    ) -> tuple[pa.Table, pa.Table]:
        import pyarrow as pa
        import pyarrow.compute as pc

        missing = [c for c in ROW_KEY if c not in output.column_names]
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
        reasons = result.failing_rows or {}
        failed = pa.array(list(reasons), pa.string())
        output = output.filter(pc.invert(pc.is_in(row_keys(output, ROW_KEY), value_set=failed)))
        dead = records.filter(pc.is_in(row_keys(records, ROW_KEY), value_set=failed))
        why = ["; ".join(reasons[k]) for k in row_keys(dead, ROW_KEY).to_pylist()]
        schema = rejects.schema
        message = [c for c in schema.names if c != "_reason"]
        dead = dead.select(message).append_column("_reason", pa.array(why, pa.string()))
        dead = dead.select(schema.names).cast(schema)
        self.console.event(
            "stream_checks_dead_lettered", stream=self.stream, dataset=self.dataset, rows=len(why)
        )
        return output, pa.concat_tables([rejects, dead])

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

    def _report(self, run: ChecksRun) -> None:
        for warning in run.warnings:
            self._warn(warning, f"{self.dataset}: {warning}")
        for result in run.results:
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
