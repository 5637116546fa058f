"""``duckpipe compile``: write each model's compiled SQL to target/compiled/."""

from __future__ import annotations

import json

import click

from duckpipe.cli._common import console_for, format_option, project_from


@click.command("compile")
@click.option("-s", "--select", multiple=True, help="Models to compile (same syntax as run).")
@click.option("--exclude", multiple=True, help="Models to leave out.")
@click.option("--full-refresh", is_flag=True, help="Compile incremental models as a full rebuild.")
@format_option
@click.pass_context
def command(
    ctx: click.Context,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    full_refresh: bool,
    fmt: str,
) -> None:
    """Render the Jinja, inline ephemeral models and write the SQL DuckDB would run."""
    from duckpipe.plan import RunOptions
    from duckpipe.transform.compile import compile_project

    project = project_from(ctx)
    lake = project.open_lake()
    options = RunOptions(select=select, exclude=exclude, full_refresh=full_refresh)
    outcomes = compile_project(project, options, exists=lake.exists)
    failed = [o for o in outcomes if o.error]
    if fmt == "json":
        click.echo(json.dumps([o.__dict__ for o in outcomes], indent=2))
    else:
        console = console_for(fmt)
        rows = [(o.name, o.materialized, o.path or "", o.error or "") for o in outcomes]
        console.table("compiled", ["model", "materialized", "compiled SQL", "error"], rows)
        console.info(f"{len(outcomes) - len(failed)} compiled, {len(failed)} failed")
    if failed:
        ctx.exit(1)
