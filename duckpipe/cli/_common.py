"""Helpers shared by CLI commands: project loading and console choice."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from duckpipe.core.console import Console
    from duckpipe.project import Project


def project_from(ctx: click.Context) -> Project:
    from duckpipe.project import load_project

    return load_project(ctx.obj["project_dir"])


def console_for(fmt: str = "table") -> Console:
    from duckpipe.core.console import JsonConsole, RichConsole

    return JsonConsole() if fmt == "json" else RichConsole()


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output for people (table) or machines (json).",
)
