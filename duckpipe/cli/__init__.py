"""The ``duckpipe`` command line: thin click commands over the Python API.

Commands live in their own modules and are imported only when invoked, so
``duckpipe --help`` does not import DuckDB, Arrow or the lake libraries.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from duckpipe import __version__

# name -> "module:function". Add a command by adding a line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("duckpipe.cli.init", "Scaffold a runnable project (choose a --pattern)."),
    "run": ("duckpipe.cli.run", "Ingest, build models, check and publish, once."),
    "query": ("duckpipe.cli.query", "Query any landed table, model or lake table by name."),
    "compile": ("duckpipe.cli.compile", "Write each model's compiled SQL to target/compiled/."),
    "lineage": ("duckpipe.cli.lineage", "Show where a model's column comes from, across models."),
    "history": ("duckpipe.cli.history", "Show the local run history."),
    "table": (
        "duckpipe.cli.table",
        "Inspect and maintain a lake table: history, show, optimize, zorder, vacuum.",
    ),
    "dlq": ("duckpipe.cli.dlq", "Inspect and replay rows a source contract rejected."),
    "cost-report": ("duckpipe.cli.cost_report", "Cost advice from a lake's metadata, in money."),
    "check": ("duckpipe.cli.check", "Run the SodaCL checks on current data; show failed rows."),
    "stream": ("duckpipe.cli.stream", "Run a Kafka stream into the lake, exactly once."),
}


# commands that do not read a project (every other one also takes -p DIR after its name)
NO_PROJECT = frozenset({"init"})
PROJECT_HELP = "Project directory (default: the current directory)."


def _set_project_dir(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)["project_dir"] = value


def _accept_project_option(command: click.Command) -> None:
    """Let ``command`` (and a group's subcommands) take ``-p DIR`` after its name too."""
    if not any(p.name == "project_dir" for p in command.params):
        command.params.append(
            click.Option(
                ["--project", "-p", "project_dir"],
                type=click.Path(file_okay=False),
                expose_value=False,
                is_eager=True,
                callback=_set_project_dir,
                help=PROJECT_HELP,
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_project_option(sub)


class LazyGroup(click.Group):
    """A click group that imports a command's module only when the command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        command: click.Command = module.command
        if cmd_name not in NO_PROJECT:
            _accept_project_option(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            from duckpipe.core.errors import did_you_mean

            hint = did_you_mean(name, COMMANDS) or "see `duckpipe --help`"
            ctx.fail(f"unknown command '{name}' ({hint})")
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="duckpipe")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.option(
    "--project",
    "-p",
    "project_dir",
    default=".",
    type=click.Path(file_okay=False),
    help=PROJECT_HELP,
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, project_dir: str) -> None:
    """duckpipe: pipelines on one machine, DuckDB at the centre, Delta and Iceberg at the end."""
    ctx.obj = {"debug": debug, "project_dir": project_dir}


def main(argv: list[str] | None = None) -> Any:
    """Entry point: one error handler for every command (one red line, exit code non-zero)."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        return cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except Exception as exc:
        from duckpipe.core.errors import DuckpipeError

        if debug:
            raise
        if isinstance(exc, DuckpipeError):
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)
        click.secho(f"error: {type(exc).__name__}: {exc}", fg="red", err=True)
        click.echo("(run with --debug for the traceback)", err=True)
        sys.exit(1)
