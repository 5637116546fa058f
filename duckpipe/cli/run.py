"""``duckpipe run``: ingest -> models -> checks -> publish, once."""

from __future__ import annotations

import json
from typing import Any

import click

from duckpipe.cli._common import console_for, format_option, project_from


@click.command("run")
@click.option(
    "-s",
    "--select",
    multiple=True,
    help="Models or sources to run: name, name+, +name, tag:x, path:dir.",
)
@click.option("--exclude", multiple=True, help="Models to leave out (same syntax as --select).")
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Reload sources from scratch and rebuild incremental models.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the plan the run would execute and write nothing."
)
@click.option("--skip-checks", is_flag=True, help="Publish without running quality checks.")
@format_option
@click.pass_context
def command(
    ctx: click.Context,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    full_refresh: bool,
    dry_run: bool,
    skip_checks: bool,
    fmt: str,
) -> None:
    """Run the project once."""
    from duckpipe.plan import RunOptions
    from duckpipe.runner import make_plan, open_sources, run_project

    project = project_from(ctx)
    options = RunOptions(select, exclude, full_refresh, dry_run, skip_checks)
    console = console_for(fmt)
    lake, sources = project.open_lake(), open_sources(project)
    plan = make_plan(project, lake, options, sources)
    if dry_run:
        if fmt == "json":
            click.echo(json.dumps(plan.to_dict(), indent=2, default=str))
        else:
            click.echo(
                f"plan for {project.config.name} ({len(plan.steps)} steps, nothing written):"
            )
            for line in plan.describe():
                click.echo(line)
        return
    report = run_project(project, options, console=console, plan=plan, lake=lake, sources=sources)
    rows = [
        (
            s.kind,
            s.name,
            s.status,
            "" if s.rows is None else f"{s.rows:,}",
            _checks_cell(s.checks),
            f"{s.table} v{s.version}" if s.version is not None else "",
            f"{s.seconds:.2f}s",
        )
        for s in report.record.steps
    ]
    console.table(
        f"run {report.record.run_id}",
        ["kind", "name", "status", "rows", "checks", "written", "time"],
        rows,
    )
    steps = report.record.steps
    checks = [c for s in steps for c in s.checks]
    passed = sum(c.get("outcome") == "pass" for c in checks)
    not_ok = [s for s in steps if s.status != "ok"]
    console.info(
        f"{'ok' if report.ok else 'FAILED'}: {len(steps) - len(not_ok)} steps ok, "
        f"{len(not_ok)} not ok; checks {passed}/{len(checks)} passed; "
        f"{sum(s.rows or 0 for s in steps if s.kind == 'source'):,} rows landed; "
        f"{sum(s.version is not None for s in steps)} table versions written; "
        f"{report.seconds:.2f}s"
    )
    if not report.ok:
        ctx.exit(1)


def _checks_cell(checks: list[dict[str, Any]]) -> str:
    """'3/3' passed, with the outcomes that were not a pass spelled out."""
    if not checks:
        return ""
    passed = sum(c.get("outcome") == "pass" for c in checks)
    others = sorted({str(c.get("outcome")) for c in checks} - {"pass"})
    return f"{passed}/{len(checks)}" + (f" ({', '.join(others)})" if others else "")
