"""``duckpipe check``: run a project's checks alone on its current data and record the results."""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import QualityError, did_you_mean
from duckpipe.core.history import RunHistory, RunRecord, StepRecord
from duckpipe.core.run_ids import new_run_id
from duckpipe.project import Project, landed_table

if TYPE_CHECKING:
    from duckpipe.core.console import Console
    from duckpipe.quality.results import CheckResult


@dataclass
class CheckReport:
    """One ``duckpipe check``: the record stored in the run history and every result."""

    record: RunRecord
    results: list[CheckResult] = field(default_factory=list)
    quarantined: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.record.status == "success"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.record.run_id,
            "status": self.record.status,
            "quarantined_rows": self.quarantined,
            "warnings": self.warnings,
            "datasets": [
                {"dataset": s.name, "status": s.status, "detail": s.detail}
                for s in self.record.steps
            ],
            "checks": [r.to_dict() for r in self.results],
        }


def check_project(
    project: Project, select: tuple[str, ...] = (), *, console: Console | None = None
) -> CheckReport:
    """Run the checks of the ``select``-ed datasets (all by default) on current data.

    Failing rows go to the quarantine tables; results go to the run history.
    """
    from duckpipe.core.console import NullConsole
    from duckpipe.quality.checker import run_checks
    from duckpipe.quality.connection import checks_connection
    from duckpipe.quality.datasets import known_datasets, validate_suite
    from duckpipe.quality.gate import report
    from duckpipe.quality.quarantine import quarantine
    from duckpipe.query import open_query_engine

    console = console or NullConsole()
    lake = project.open_lake()
    suite = validate_suite(project, lake)
    datasets = select_datasets(suite.datasets(), select, project)
    quality = project.config.quality
    record = RunRecord(new_run_id(), "check", datetime.now(UTC).isoformat())
    report_ = CheckReport(record)
    engine = open_query_engine(project)
    try:
        visible = set(engine.names())
        for dataset in datasets:
            if dataset not in visible:
                detail = "no data yet: run `duckpipe run` first"
                record.steps.append(StepRecord("check", dataset, "skipped", detail=detail))
                continue
            started = time.perf_counter()
            with checks_connection(engine, dataset) as con:
                run = run_checks(
                    con,
                    suite,
                    dataset,
                    samples_limit=quality.samples_limit,
                    known_datasets=lambda: known_datasets(project, lake),
                )
                kept = (
                    quarantine(con, lake, run.results, record.run_id) if quality.quarantine else 0
                )
            report(console, run)
            report_.results += run.results
            report_.warnings += [f"{dataset}: {w}" for w in run.warnings]
            report_.quarantined += kept
            failing = run.failing
            record.steps.append(
                StepRecord(
                    "check",
                    dataset,
                    "ok" if run.passed else "failed",
                    seconds=round(time.perf_counter() - started, 4),
                    rows=kept or None,
                    detail=f"{len(failing)} failing" if failing else None,
                    checks=[r.to_dict() for r in run.results],
                )
            )
    finally:
        engine.close()
    failed = any(s.status == "failed" for s in record.steps)
    record.status = "failed" if failed else "success"
    record.finished_at = datetime.now(UTC).isoformat()
    RunHistory(project.state_dir).append(record)
    return report_


def select_datasets(datasets: list[str], select: tuple[str, ...], project: Project) -> list[str]:
    """The checked datasets ``select`` names: dataset names, globs, or source names."""
    if not select:
        return datasets
    chosen: list[str] = []
    for pattern in select:
        name = pattern.removeprefix("source:")
        if name in project.config.sources:
            name = landed_table(name, project.config.sources[name])
        hits = [d for d in datasets if fnmatch.fnmatchcase(d, name)]
        if not hits:
            raise QualityError(
                f"no checks for '{pattern}'",
                where="checks/",
                hint=did_you_mean(name, datasets)
                or f"datasets with checks: {', '.join(datasets) or 'none'}",
            )
        chosen += [d for d in hits if d not in chosen]
    return chosen


def check_trend(
    project: Project, check: str, *, dataset: str | None = None
) -> list[dict[str, Any]]:
    """The values of ``check`` over the recorded runs (``run`` and ``check``), oldest first."""
    points = []
    names: set[str] = set()
    for run in reversed(RunHistory(project.state_dir).runs()):
        for step in run.get("steps", []):
            for result in step.get("checks", []):
                names.add(result.get("name", ""))
                if result.get("name") != check:
                    continue
                if dataset and result.get("dataset") != dataset:
                    continue
                points.append(
                    {
                        "run_id": run["run_id"],
                        "command": run["command"],
                        "started_at": run["started_at"],
                        "dataset": result.get("dataset"),
                        "outcome": result.get("outcome"),
                        "value": result.get("value"),
                    }
                )
    if not points:
        raise QualityError(
            f"no recorded results for check '{check}'",
            hint=did_you_mean(check, names) or "run `duckpipe check` or `duckpipe run` first",
        )
    return points
