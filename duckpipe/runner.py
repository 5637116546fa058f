"""Execute a Plan: land sources, build models, audit, publish, record the run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from duckpipe.core.console import Console, NullConsole
from duckpipe.core.errors import DuckpipeError
from duckpipe.core.history import RunHistory, RunRecord, StepRecord
from duckpipe.core.run_ids import new_run_id
from duckpipe.plan import ModelStep, Plan, RunOptions, SeedStep, SourceStep, Step, build_plan

if TYPE_CHECKING:
    from duckpipe.engine import Engine
    from duckpipe.project import Project
    from duckpipe.sinks.base import Sink
    from duckpipe.sources.base import ExtractRange
    from duckpipe.sources.opened import OpenedSources


@dataclass
class StepResult:
    """The outcome of one step; ``status`` is ok, failed, blocked (by a check) or skipped."""

    status: str = "ok"
    rows: int | None = None
    table: str | None = None
    version: int | None = None
    detail: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunContext:
    """What every stage needs while a run executes."""

    project: Project
    engine: Engine
    lake: Sink
    run_id: str
    options: RunOptions
    console: Console
    # lakes of other table formats under the same root (a model's ``format``), opened
    # once per run at their first use
    other_lakes: dict[str, Sink] = field(default_factory=dict)
    # what quality.audit() checked during the current step, for the history even when the
    # stage does not pass its checks on in StepResult.checks
    checks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunReport:
    """What ``duckpipe run`` returns: the record plus convenience accessors."""

    record: RunRecord
    plan: Plan
    seconds: float

    @property
    def ok(self) -> bool:
        return self.record.status == "success"

    def step(self, name: str) -> StepRecord:
        return next(s for s in self.record.steps if s.name == name)


def open_sources(project: Project) -> OpenedSources:
    """The run's sources, each opened once (by the plan, then landed from the same object)."""
    from duckpipe.sources.opened import OpenedSources

    return OpenedSources(project.root, project.config.storage_options)


def make_plan(
    project: Project, lake: Sink, options: RunOptions, sources: OpenedSources | None = None
) -> Plan:
    """Read stored positions (I/O), then build the pure plan from them.

    ``sources``: pass the same ones to ``run_project`` so that each is opened once.
    """
    from duckpipe.ingest import plan_source

    sources = sources if sources is not None else open_sources(project)
    ranges: dict[str, ExtractRange] = {}
    for name, cfg in project.config.sources.items():
        if cfg.resolved_type() != "kafka":
            ranges[name] = plan_source(
                project,
                lake,
                name,
                cfg,
                full_refresh=options.full_refresh,
                source=sources.get(name, cfg),
            )
    return build_plan(project, ranges, options)


def run_project(
    project: Project,
    options: RunOptions = RunOptions(),
    *,
    console: Console | None = None,
    plan: Plan | None = None,
    lake: Sink | None = None,
    sources: OpenedSources | None = None,
) -> RunReport:
    """Run ``project`` once: ingest -> models -> checks -> publish -> record.

    ``plan``, ``lake`` and ``sources``: what ``make_plan`` was given and made (the lake
    and each source are opened once per run); opened here when not given.
    """
    from duckpipe.engine import Engine

    console = console or NullConsole()
    started = time.perf_counter()
    lake = lake if lake is not None else project.open_lake()
    sources = sources if sources is not None else open_sources(project)
    plan = plan or make_plan(project, lake, options, sources)
    record = RunRecord(run_id=new_run_id(), command="run", started_at=datetime.now(UTC).isoformat())
    engine = Engine()
    ctx = RunContext(project, engine, lake, record.run_id, options, console)
    engine.attach_lake(lake)
    blocked: set[str] = set()
    try:
        workers = project.config.models.concurrency
        if workers > 1:
            from duckpipe.transform.schedule import run_concurrently

            run = lambda c, s: _execute(c, s, blocked, sources)  # noqa: E731
            record.steps.extend(run_concurrently(ctx, plan.steps, run, workers))
        else:
            for step in plan.steps:
                record.steps.append(_execute(ctx, step, blocked, sources))
    finally:
        engine.close()
    if project.config.maintenance is not None:
        from duckpipe.maintenance import maintain

        record.steps.extend(maintain(lake, project.config.maintenance, record.steps, console))
    failed = [s for s in record.steps if s.status in ("failed", "blocked")]
    record.status = "failed" if failed else "success"
    record.finished_at = datetime.now(UTC).isoformat()
    from duckpipe.core.history import RunHistory

    RunHistory(project.state_dir).append(record)
    return RunReport(record, plan, time.perf_counter() - started)


def _execute(ctx: RunContext, step: Step, blocked: set[str], sources: OpenedSources) -> StepRecord:
    label = step.describe()
    upstream = set(getattr(step, "depends_on", ())) & blocked
    key = getattr(step, "key", step.name)
    if upstream:
        blocked.add(key)
        detail = f"upstream {', '.join(sorted(upstream))} did not publish"
        ctx.console.event("step_finished", label=label, status="skipped", detail=detail)
        return StepRecord(step.kind, step.name, "skipped", detail=detail)
    ctx.console.event("step_started", label=label, kind=step.kind, name=step.name)
    t0 = time.perf_counter()
    ctx.checks.clear()
    try:
        result = _dispatch(ctx, step, sources)
    except DuckpipeError as exc:
        result = StepResult(status="failed", detail=str(exc))
    result.checks = result.checks or list(ctx.checks)
    seconds = time.perf_counter() - t0
    if result.status != "ok":
        blocked.add(key)
    detail = result.detail or (f"{result.rows:,} rows" if result.rows is not None else "")
    if result.version is not None:
        detail += f" -> {result.table} v{result.version}"
    ctx.console.event(
        "step_finished",
        label=label,
        kind=step.kind,
        name=step.name,
        status=result.status,
        detail=detail,
        seconds=seconds,
        rows=result.rows,
    )
    return StepRecord(
        kind=step.kind,
        name=step.name,
        status=result.status,
        seconds=round(seconds, 4),
        rows=result.rows,
        table=result.table,
        version=result.version,
        detail=result.detail,
        checks=result.checks,
    )


def _dispatch(ctx: RunContext, step: Step, sources: OpenedSources) -> StepResult:
    if isinstance(step, SourceStep):
        from duckpipe.ingest import land_source

        return land_source(ctx, step, sources.get(step.name, step.config))
    if isinstance(step, SeedStep):
        from duckpipe.transform import load_seed

        return load_seed(ctx, step)
    if isinstance(step, ModelStep):
        from duckpipe.transform import build_model

        return build_model(ctx, step)
    raise AssertionError(f"unknown step {step!r}")


__all__ = [
    "RunContext",
    "RunHistory",
    "RunReport",
    "StepResult",
    "make_plan",
    "open_sources",
    "run_project",
]
