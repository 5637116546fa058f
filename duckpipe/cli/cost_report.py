"""``duckpipe cost-report PATH``: file sizes, partitions, tiers and versions, in money, with fixes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

FAIL_EXIT_CODE = 3


def _storage_options(values: tuple[str, ...]) -> dict[str, str]:
    options = {}
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(
                f"'{value}' is not KEY=VALUE (e.g. AWS_ENDPOINT_URL=http://localhost:9000)",
                param_hint="--storage-option",
            )
        options[key.strip()] = setting.strip()
    return options


@click.command("cost-report")
@click.argument("path", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "html"]),
    default="table",
    show_default=True,
    help="Terminal tables, JSON (see report.schema.json) or one self-contained HTML page.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the report to FILE instead of standard output.",
)
@click.option(
    "--prices",
    "prices_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML/JSON overriding prices and thresholds (merged over duckpipe.yml prices:).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["high", "medium", "low"]),
    default=None,
    help=f"Exit with status {FAIL_EXIT_CODE} when a finding of this severity or worse exists.",
)
@click.option(
    "--storage-option",
    "storage_option",
    multiple=True,
    metavar="KEY=VALUE",
    help="Object storage setting, e.g. AWS_ENDPOINT_URL=...; repeatable.",
)
@click.pass_context
def command(
    ctx: click.Context,
    path: str | None,
    fmt: str,
    output: str | None,
    prices_file: str | None,
    fail_on: str | None,
    storage_option: tuple[str, ...],
) -> None:
    """Analyse the lake at PATH (default: the project's lake) from metadata alone.

    PATH is a lake root or one table: Delta, Iceberg or hive-partitioned Parquet,
    local or s3://. Inside a project, the models' filters and the run history
    add query-layout and compute advice.
    """
    from duckpipe.advisor.analyze import analyze_lake
    from duckpipe.advisor.prices import load_prices, read_prices_file
    from duckpipe.advisor.render import write_report
    from duckpipe.config import CONFIG_FILE
    from duckpipe.core.console import RichConsole
    from duckpipe.core.errors import ConfigError
    from duckpipe.project import load_project

    options = _storage_options(storage_option)
    project_dir = Path(ctx.obj["project_dir"])
    project = load_project(project_dir) if (project_dir / CONFIG_FILE).is_file() else None
    if path is None:
        if project is None:
            raise ConfigError(
                "no PATH given and no duckpipe.yml here",
                hint="pass a lake path: duckpipe cost-report ./lake (or s3://bucket/lake)",
            )
        path = project.lake_uri
    overrides = []
    if project is not None:
        overrides.append(
            (f"{project.root / CONFIG_FILE} prices:", project.config.prices.model_dump())
        )
    if prices_file:
        overrides.append(read_prices_file(prices_file))
    prices = load_prices(*overrides)
    # fixes are commands to paste: they name the project when it is not the current folder
    command = (
        ("duckpipe",) if str(project_dir) in (".", "") else ("duckpipe", "-p", str(project_dir))
    )
    report = analyze_lake(
        path,
        prices=prices,
        project=project,
        storage_options=options,
        console=RichConsole(),
        command=command,
    )
    if not report.tables:  # every table found was unreadable: there is nothing to report
        raise ConfigError(
            "no table could be read: "
            + "; ".join(w for w in report.warnings if w.startswith("table ")),
            where=report.path,
            hint="restore or rewrite the corrupt table(s), or pass a path holding healthy ones",
        )
    if output:
        with open(output, "w", encoding="utf-8") as stream:
            write_report(report, fmt, stream)
        click.echo(f"wrote the {fmt} report to {output}: {len(report.findings)} findings", err=True)
    else:
        write_report(report, fmt, sys.stdout)
    failing = report.failing(fail_on) if fail_on else []  # type: ignore[arg-type]
    if failing:
        click.echo(f"{len(failing)} finding(s) of severity {fail_on} or worse", err=True)
        ctx.exit(FAIL_EXIT_CODE)
