"""``duckpipe init DIR``: scaffold a runnable project from a pattern template."""

from __future__ import annotations

import click

from duckpipe.scaffold import PATTERNS


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--pattern",
    type=click.Choice(list(PATTERNS)),
    default="elt",
    show_default=True,
    help="Architecture pattern to scaffold: "
    + "; ".join(f"{p.name}: {p.best_for}" for p in PATTERNS.values())
    + ".",
)
@click.option(
    "--format",
    "table_format",
    type=click.Choice(["delta", "iceberg"]),
    default=None,
    help="Table format of the lake (default: the pattern's).",
)
def command(directory: str, pattern: str, table_format: str | None) -> None:
    """Create DIRECTORY with a small project that runs as it is (see its README.md)."""
    from duckpipe.scaffold import scaffold

    created = scaffold(directory, pattern, table_format=table_format)
    chosen = PATTERNS[pattern]
    click.echo(f"created {pattern} project in {created} ({chosen.best_for})")
    if chosen.needs:
        click.echo(f"needs {chosen.needs}")
    click.echo("next:")
    click.echo(f"  cd {directory}")
    for step in chosen.next_steps:
        click.echo(f"  {step}")
