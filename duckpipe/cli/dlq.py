"""``duckpipe dlq list|show|replay``: inspect the rows a source's contract rejected, and
re-ingest them after a fix."""

from __future__ import annotations

import json

import click

from duckpipe.cli._common import console_for, format_option, project_from


@click.group("dlq")
def command() -> None:
    """Dead letter queues: rows a source contract rejected, with the reason."""


@command.command("list")
@format_option
@click.pass_context
def list_command(ctx: click.Context, fmt: str) -> None:
    """Every source with dead letters: how many, and why."""
    from duckpipe.dlq import dead_letter_queues

    rows = [
        (
            q.source,
            q.rows,
            "; ".join(f"{n} x {r}" for r, n in q.top_reasons),
            q.newest.isoformat(timespec="seconds") if q.newest else "",
        )
        for q in dead_letter_queues(project_from(ctx))
    ]
    console_for(fmt).table("dead letters", ["source", "rows", "top reasons", "newest"], rows)


@command.command("show")
@click.argument("source")
@click.option("--limit", "-n", default=20, show_default=True, help="Rows to show.")
@format_option
@click.pass_context
def show_command(ctx: click.Context, source: str, limit: int, fmt: str) -> None:
    """The dead letters of SOURCE: reason, column, run, time and raw values."""
    from duckpipe.dlq import dead_letters

    letters = dead_letters(project_from(ctx), source)
    shown = letters.slice(0, limit).to_pylist()
    rows = [
        (
            r["failed_at"].isoformat(timespec="seconds"),
            r["run_id"],
            r["reason"],
            r["column_name"],
            r["raw"],
        )
        for r in shown
    ]
    title = f"{source}: {letters.num_rows:,} dead letter(s)"
    if letters.num_rows > limit:
        title += f", first {limit}"
    console_for(fmt).table(title, ["failed_at", "run_id", "reason", "column", "raw"], rows)


@command.command("replay")
@click.argument("source")
@format_option
@click.pass_context
def replay_command(ctx: click.Context, source: str, fmt: str) -> None:
    """Land the dead letters of SOURCE that pass its contract now (after a fix)."""
    from duckpipe.dlq import replay_dead_letters

    console = console_for(fmt)
    result = replay_dead_letters(project_from(ctx), source, console=console)
    summary = {
        "source": result.source,
        "table": result.table,
        "landed": result.landed,
        "still_failing": result.still_failing,
        "already_landed": result.skipped,
        "version": result.version,
        "reasons": result.reasons or {},
    }
    if fmt == "json":
        click.echo(json.dumps(summary, default=str))
    else:
        written = f" -> {result.table} v{result.version}" if result.version is not None else ""
        console.info(
            f"replayed {source}: {result.landed:,} landed{written}, "
            f"{result.still_failing:,} still failing"
        )
        for reason, n in (result.reasons or {}).items():
            console.info(f"  {n:,} x {reason}")
    if result.blocked is not None:
        raise click.ClickException(f"replay blocked by the quality gate: {result.blocked.detail}")
