"""The publish gate: audit a dataset's staged data before it becomes visible (write-audit-publish).

One gate for every stage that publishes. A batch stage (a landed source, a table or
view model) builds its result under a staging name, calls ``audit(ctx, dataset,
staged)`` and publishes only when ``passed``; otherwise it returns
``StepResult(status="blocked", checks=result.checks, detail=result.detail)`` and the
previous version stays current. A stream opens one ``PublishGate`` at start (the
checks parsed once) and audits each micro-batch's output rows, an Arrow table, with
it; asked for ``row_key``, the gate also says which rows each failing check flags,
so the stream can send exactly those to its dead letter queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from duckpipe.core.console import Console
    from duckpipe.engine import Engine
    from duckpipe.project import Project
    from duckpipe.quality.checker import ChecksRun
    from duckpipe.quality.results import CheckResult
    from duckpipe.quality.scanner import CheckSpec
    from duckpipe.quality.sodacl import ChecksSuite
    from duckpipe.runner import RunContext
    from duckpipe.sinks.base import Sink


@dataclass
class AuditResult:
    """The checks run on a staged dataset; ``passed`` is False when a ``fail`` check failed.

    ``checks`` are the results as plain dicts, ready for ``StepResult.checks`` (the run history).
    """

    dataset: str
    passed: bool = True
    checks: list[dict[str, Any]] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    quarantined: int = 0
    skipped: bool = False
    failing_rows: dict[str, list[str]] | None = None
    """With ``row_key``: the key (``row_keys``) of each failing row -> the checks it fails.

    None when some failing check identifies no rows or a key column is missing."""

    @property
    def detail(self) -> str | None:
        """Why the publish was blocked (None when it passed)."""
        failing = [r for r in self.results if r.blocks]
        if not failing:
            return None
        reasons = "; ".join(f"{r.summary()} at {r.location}" for r in failing)
        noun = "check" if len(failing) == 1 else "checks"
        return f"blocked by {len(failing)} failing {noun}: {reasons}"


class PublishGate:
    """The project's checks, run on a dataset's staged rows before they are published."""

    def __init__(
        self,
        project: Project,
        lake: Sink,
        engine: Engine,
        console: Console,
        *,
        skip: bool = False,
        reporter: Callable[[ChecksRun], None] | None = None,
    ) -> None:
        self.project = project
        self.lake = lake
        self.engine = engine
        self.enabled = not skip and project.config.quality.enabled
        self.reporter = reporter or (lambda run: report(console, run))
        self.references: dict[str, set[str]] = {}
        self._suite: ChecksSuite | None = None

    @property
    def suite(self) -> ChecksSuite:
        """The project's checks, validated against its datasets (once per gate)."""
        from duckpipe.quality.datasets import validate_suite

        if self._suite is None:
            self._suite = validate_suite(self.project, self.lake)
        return self._suite

    def has_checks(self, dataset: str) -> bool:
        """Whether ``dataset`` is audited (soda-core is not imported to find out)."""
        return self.enabled and dataset in self.suite.datasets()

    def prepare(self, dataset: str) -> list[tuple[CheckSpec, str]]:
        """Parse ``dataset``'s checks once (a syntax error raises here): each check and where.

        Remembers the other datasets they read, for audits of rows outside the run's engine.
        """
        from duckpipe.quality.checker import parse_checks_for

        con = self.engine.con.cursor()
        try:
            specs = parse_checks_for(con, self.suite, dataset)
        finally:
            con.close()
        self.references[dataset] = {s.target for s, _ in specs if s.target and s.target != dataset}
        return specs

    def audit(
        self,
        dataset: str,
        staged: str | pa.Table,
        *,
        quarantine_run: str | None = None,
        row_key: Sequence[str] = (),
    ) -> AuditResult:
        """Run ``dataset``'s checks on ``staged``: a relation of the engine or Arrow rows.

        ``quarantine_run``: append failing rows to ``_quarantine/<dataset>`` under that run
        id (when the project keeps quarantine). Raises QualityError when the checks
        themselves are broken (syntax, unknown column...).
        """
        from duckpipe.quality.checker import run_checks
        from duckpipe.quality.datasets import known_datasets
        from duckpipe.quality.quarantine import quarantine

        if not self.enabled:
            return AuditResult(dataset, skipped=True)
        if dataset not in self.suite.datasets():
            return AuditResult(dataset)
        quality = self.project.config.quality
        with self._connection(dataset, staged) as con:
            run = run_checks(
                con,
                self.suite,
                dataset,
                samples_limit=quality.samples_limit,
                known_datasets=lambda: known_datasets(self.project, self.lake),
            )
            kept = 0
            if quarantine_run is not None and quality.quarantine:
                kept = quarantine(con, self.lake, run.results, quarantine_run)
            rows = _failing_rows(con, run.failing, row_key, staged) if row_key else None
        self.reporter(run)
        checks = [r.to_dict() for r in run.results]
        return AuditResult(dataset, run.passed, checks, run.results, kept, failing_rows=rows)

    @contextmanager
    def _connection(
        self, dataset: str, staged: str | pa.Table
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        from duckpipe.quality.connection import checks_connection

        if isinstance(staged, str):
            with checks_connection(self.engine, dataset, staged) as con:
                yield con
            return
        # rows from outside the run's engine: the datasets the checks read come from the lake
        con = self.engine.con.cursor()
        try:
            con.register(dataset, staged)
            for target in self.references.get(dataset, ()):
                if self.lake.exists(target):
                    con.register(target, self.lake.dataset(target))
            yield con
        finally:
            con.close()


def audit(ctx: RunContext, dataset: str, staged_relation: str) -> AuditResult:
    """Run the project's checks for ``dataset`` against ``staged_relation`` (a DuckDB name).

    Called by every batch stage before it publishes; a failed result blocks the publish.
    Failing rows of row-level checks are appended to ``_quarantine/<dataset>`` in the lake.
    Raises QualityError when the checks themselves are broken (syntax, unknown column...).
    """
    gate = PublishGate(ctx.project, ctx.lake, ctx.engine, ctx.console, skip=ctx.options.skip_checks)
    result = gate.audit(dataset, staged_relation, quarantine_run=ctx.run_id)
    recorded = getattr(ctx, "checks", None)  # the runner records them with the step
    if recorded is not None and not result.skipped:
        # a retried attempt replaces what the earlier one checked
        recorded[:] = [c for c in recorded if c.get("dataset") != dataset] + result.checks
    return result


def report(console: Console, run: ChecksRun) -> None:
    """One ``check`` event per result; a warning line for each check that did not pass."""
    for warning in run.warnings:
        console.warn(f"{run.dataset}: {warning}")
    for result in run.results:
        console.event("check", **result.to_dict())
        if not result.passed:
            console.warn(f"{result.dataset}: {result.summary()} ({result.location})")


def row_keys(rows: pa.Table, columns: Sequence[str]) -> pa.ChunkedArray:
    """One text key per row: ``columns``' values joined (``"clicks\x000\x00120"``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = [pc.cast(rows.column(c), pa.string()) for c in columns]
    return pc.binary_join_element_wise(*parts, "\x00")


def _failing_rows(
    con: duckdb.DuckDBPyConnection,
    failing: list[CheckResult],
    key: Sequence[str],
    staged: str | pa.Table,
) -> dict[str, list[str]] | None:
    """The key of every row a failing check flags -> the checks (None when rows cannot be told)."""
    from duckpipe.quality.checker import strip_sql

    names = staged.column_names if not isinstance(staged, str) else None
    if names is not None and any(c not in names for c in key):
        return None
    if any(r.failing_sql is None for r in failing):
        return None
    reasons: dict[str, list[str]] = {}
    select = ", ".join(f'"{c}"' for c in key)
    for check in failing:
        assert check.failing_sql is not None
        rows = con.sql(
            f"select {select} from ({strip_sql(check.failing_sql)}) as failing"
        ).to_arrow_table()
        for k in row_keys(rows, key).to_pylist():
            reasons.setdefault(k, []).append(f"check '{check.name}' failed ({check.location})")
    return reasons
