"""``duckpipe check``: run the SodaCL checks alone on current data, show quarantined rows."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from duckpipe.cli._common import format_option, project_from

if TYPE_CHECKING:
    from duckpipe.check import CheckReport
    from duckpipe.project import Project


@click.command("check")
@click.option(
    "-s",
    "--select",
    multiple=True,
    help="Datasets to check: a name, a glob (stg_*) or a source name. Default: all.",
)
@click.option(
    "--show-failed",
    "show_failed",
    metavar="CHECK",
    help="Show the rows CHECK quarantined in its latest failing run (does not run checks).",
)
@click.option(
    "--trend", metavar="CHECK", help="Show CHECK's measured value over the recorded runs."
)
@click.option("--limit", default=100, show_default=True, help="Rows to show with --show-failed.")
@format_option
@click.pass_context
def command(
    ctx: click.Context,
    select: tuple[str, ...],
    show_failed: str | None,
    trend: str | None,
    limit: int,
    fmt: str,
) -> None:
    """Run the checks in checks/*.yml on the current data; exit 1 when a fail check fails."""
    project = project_from(ctx)
    if show_failed:
        _show_failed(project, show_failed, select, fmt, limit)
        return
    if trend:
        _show_trend(project, trend, select, fmt)
        return
    from duckpipe.check import check_project

    report = check_project(project, select)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        _print_report(report)
    if not report.ok:
        ctx.exit(1)


def _print_report(report: CheckReport) -> None:
    from duckpipe.core.console import RichConsole

    console = RichConsole()
    rows = [
        (
            r.dataset,
            r.name,
            r.outcome.upper() if r.outcome != "pass" else r.outcome,
            "" if r.value is None else r.value,
            r.threshold or "",
            "" if r.failed_rows is None else r.failed_rows,
            r.detail or "",
            r.location,
        )
        for r in report.results
    ]
    columns = ["dataset", "check", "outcome", "value", "threshold", "failed rows", "detail", "at"]
    shown = [
        i
        for i, c in enumerate(columns)
        if c in ("dataset", "check", "outcome") or any(r[i] != "" for r in rows)
    ]
    console.table(
        f"checks {report.record.run_id}",
        [columns[i] for i in shown],
        [[r[i] for i in shown] for r in rows],
    )
    for step in report.record.steps:
        if step.status == "skipped":
            console.warn(f"{step.name}: {step.detail}")
    for warning in report.warnings:
        console.warn(warning)
    counts = {o: sum(r.outcome == o for r in report.results) for o in ("pass", "warn", "fail")}
    summary = f"{counts['pass']} passed, {counts['warn']} warned, {counts['fail']} failed"
    if report.quarantined:
        summary += f"; {report.quarantined:,} rows quarantined"
    console.info(("ok: " if report.ok else "FAILED: ") + summary)


def _show_failed(
    project: Project, check: str, select: tuple[str, ...], fmt: str, limit: int
) -> None:
    import pyarrow as pa

    from duckpipe.quality.quarantine import quarantined
    from duckpipe.query import write_result

    dataset = select[0] if len(select) == 1 else None
    rows = quarantined(project.open_lake(), check, dataset=dataset)
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row, default=str))
        return
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    table = pa.table({c: [_cell(r.get(c)) for r in rows] for c in columns})
    click.echo(f"{len(rows):,} rows failed '{check}' (run {rows[0]['_run_id']}):")
    write_result(table, "table", limit=limit)


def _cell(value: object) -> str | None:
    return None if value is None else str(value)


def _show_trend(project: Project, check: str, select: tuple[str, ...], fmt: str) -> None:
    from duckpipe.check import check_trend
    from duckpipe.core.console import RichConsole

    dataset = select[0] if len(select) == 1 else None
    points = check_trend(project, check, dataset=dataset)
    if fmt == "json":
        click.echo(json.dumps(points, indent=2, default=str))
        return
    columns = ["run_id", "command", "started_at", "dataset", "outcome", "value"]
    RichConsole().table(f"'{check}' over runs", columns, [[p[c] for c in columns] for p in points])
