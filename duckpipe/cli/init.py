"""``duckpipe init DIR``: scaffold a runnable project from a pattern template."""

from __future__ import annotations

import click

PATTERNS = ("elt", "etl", "lambda", "kappa", "lakehouse")


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--pattern",
    type=click.Choice(PATTERNS),
    default="elt",
    show_default=True,
    help="Architecture pattern to scaffold.",
)
@click.option(
    "--format",
    "table_format",
    type=click.Choice(["delta", "iceberg"]),
    default=None,
    help="Table format of the lake (default: the pattern's).",
)
def command(directory: str, pattern: str, table_format: str | None) -> None:
    """Create DIRECTORY with a small project that runs as it is."""
    from duckpipe.scaffold import scaffold

    created = scaffold(directory, pattern, table_format=table_format)
    click.echo(f"created {pattern} project in {created}")
    click.echo(f"next: cd {directory} && duckpipe run")
