"""``duckpipe history``: the local record of runs."""

from __future__ import annotations

import json

import click

from duckpipe.cli._common import console_for, format_option, project_from


@click.command("history")
@click.option("-n", "--limit", default=10, show_default=True)
@format_option
@click.pass_context
def command(ctx: click.Context, limit: int, fmt: str) -> None:
    """Show the latest runs with their status and row counts."""
    from duckpipe.core.history import RunHistory

    runs = RunHistory(project_from(ctx).state_dir).runs(limit)
    if fmt == "json":
        click.echo(json.dumps(runs, indent=2))
        return
    rows = [
        (
            r["run_id"],
            r["command"],
            r["status"],
            len(r["steps"]),
            sum(s.get("rows") or 0 for s in r["steps"]),
            r["started_at"],
        )
        for r in runs
    ]
    console_for(fmt).table("runs", ["run", "command", "status", "steps", "rows", "started"], rows)
