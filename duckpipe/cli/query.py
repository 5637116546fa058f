"""``duckpipe query "SQL"``: query landed tables, models and lake tables by name."""

from __future__ import annotations

import click

from duckpipe.cli._common import project_from


@click.command("query")
@click.argument("sql")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--as-of", "as_of", default=None, help="Read lake tables as of a version number or timestamp."
)
@click.option("--limit", default=1000, show_default=True, help="Rows to show in table format.")
@click.pass_context
def command(ctx: click.Context, sql: str, fmt: str, as_of: str | None, limit: int) -> None:
    """Run SQL against the project's tables and print the result."""
    from duckpipe.query import open_query_engine, write_result

    project = project_from(ctx)
    engine = open_query_engine(project, as_of=as_of)
    try:
        result = engine.arrow(sql, where="query")
    finally:
        engine.close()
    write_result(result, fmt, limit=limit)
