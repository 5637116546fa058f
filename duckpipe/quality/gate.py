"""The publish gate: audit a dataset's staged data before it becomes visible (write-audit-publish).

A stage that publishes (a landed source, a table or view model) builds its result
under a staging name, calls ``audit(ctx, dataset, staged)`` and publishes only when
``passed``; otherwise it returns ``StepResult(status="blocked", checks=result.checks,
detail=result.detail)`` and the previous version stays current.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from duckpipe.core.console import Console
    from duckpipe.quality.checker import ChecksRun
    from duckpipe.quality.results import CheckResult
    from duckpipe.runner import RunContext


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

    @property
    def detail(self) -> str | None:
        """Why the publish was blocked (None when it passed)."""
        failing = [r for r in self.results if r.blocks]
        if not failing:
            return None
        reasons = "; ".join(f"{r.summary()} at {r.location}" for r in failing)
        noun = "check" if len(failing) == 1 else "checks"
        return f"blocked by {len(failing)} failing {noun}: {reasons}"


def audit(ctx: RunContext, dataset: str, staged_relation: str) -> AuditResult:
    """Run the project's checks for ``dataset`` against ``staged_relation`` (a DuckDB name).

    Called by every stage before it publishes; a failed result blocks the publish. Failing
    rows of row-level checks are appended to ``_quarantine/<dataset>`` in the lake.
    Raises QualityError when the checks themselves are broken (syntax, unknown column...).
    """
    from duckpipe.quality.checker import run_checks
    from duckpipe.quality.connection import checks_connection
    from duckpipe.quality.datasets import known_datasets, validate_suite
    from duckpipe.quality.quarantine import quarantine

    quality = ctx.project.config.quality
    if ctx.options.skip_checks or not quality.enabled:
        return AuditResult(dataset, skipped=True)
    suite = validate_suite(ctx.project, ctx.lake)
    if dataset not in suite.datasets():
        return AuditResult(dataset)
    with checks_connection(ctx.engine, dataset, staged_relation) as con:
        run = run_checks(
            con,
            suite,
            dataset,
            samples_limit=quality.samples_limit,
            known_datasets=lambda: known_datasets(ctx.project, ctx.lake),
        )
        kept = quarantine(con, ctx.lake, run.results, ctx.run_id) if quality.quarantine else 0
    report(ctx.console, run)
    checks = [r.to_dict() for r in run.results]
    recorded = getattr(ctx, "checks", None)  # the runner records them with the step
    if recorded is not None:  # a retried attempt replaces what the earlier one checked
        recorded[:] = [c for c in recorded if c.get("dataset") != dataset] + checks
    return AuditResult(dataset, run.passed, checks, run.results, quarantined=kept)


def report(console: Console, run: ChecksRun) -> None:
    """One ``check`` event per result; a warning line for each check that did not pass."""
    for warning in run.warnings:
        console.warn(f"{run.dataset}: {warning}")
    for result in run.results:
        console.event("check", **result.to_dict())
        if not result.passed:
            console.warn(f"{result.dataset}: {result.summary()} ({result.location})")
