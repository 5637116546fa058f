"""``duckpipe table history|show|optimize|zorder|vacuum NAME``: look after one lake table."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from duckpipe.cli._common import console_for, format_option, project_from
from duckpipe.core import units

if TYPE_CHECKING:
    from duckpipe.sinks.base import MaintenanceResult, Sink


def _lake(ctx: click.Context) -> Sink:

    return project_from(ctx).open_lake()


def _emit(
    fmt: str,
    title: str,
    payload: dict[str, Any] | list[dict[str, Any]],
    rows: list[list[Any]],
    columns: list[str],
) -> None:
    if fmt == "json":
        click.echo(json.dumps(payload, indent=2, default=str))
        return
    console_for(fmt).table(title, columns, rows)


def _maintenance(fmt: str, result: MaintenanceResult) -> None:
    payload = {k: v for k, v in vars(result).items() if k != "paths"}
    payload["paths"] = result.paths[:50]
    rows = [[k, v] for k, v in payload.items() if k not in ("metrics", "paths")]
    _emit(fmt, f"{result.operation} {result.table}", payload, rows, ["", "value"])


@click.group("table")
def command() -> None:
    """Inspect and maintain one lake table (Delta or Iceberg)."""


@command.command("history")
@click.argument("name")
@click.option("-n", "--limit", default=20, show_default=True)
@format_option
@click.pass_context
def history(ctx: click.Context, name: str, limit: int, fmt: str) -> None:
    """Commits of NAME, newest first, with the source positions they stored."""
    commits = _lake(ctx).history(name, limit=limit)
    rows = [
        [
            c["version"],
            c["timestamp"],
            c["operation"],
            json.dumps(c.get("positions") or {}, default=str),
        ]
        for c in commits
    ]
    _emit(
        fmt, f"history of {name}", commits, rows, ["version", "timestamp", "operation", "positions"]
    )


@command.command("show")
@click.argument("name")
@format_option
@click.pass_context
def show(ctx: click.Context, name: str, fmt: str) -> None:
    """Schema, partitioning, files and rows of NAME."""
    info = _lake(ctx).describe(name)
    payload: dict[str, Any] = {
        "name": info.name,
        "format": info.format,
        "location": info.location,
        "version": info.version,
        "partition_by": info.partition_by,
        "sort_by": info.sort_by,
        "files": info.num_files,
        "rows": info.num_rows,
        "size_bytes": info.size_bytes,
        "columns": [
            {"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in info.schema
        ],
    }
    rows = [[k, v] for k, v in payload.items() if k != "columns"]
    rows += [
        [f"column {c['name']}", c["type"] + ("" if c["nullable"] else " not null")]
        for c in payload["columns"]
    ]  # type: ignore[union-attr]
    _emit(fmt, name, payload, rows, ["", "value"])


@command.command("optimize")
@click.argument("name")
@click.option(
    "--target-size",
    default="128MB",
    show_default=True,
    help="Target file size (bytes, or 64MB / 1GB).",
)
@format_option
@click.pass_context
def optimize(ctx: click.Context, name: str, target_size: str, fmt: str) -> None:
    """Compact small files of NAME into files near the target size (one atomic commit)."""
    _maintenance(fmt, _lake(ctx).compact(name, target_size=parse_size(target_size)))


@command.command("zorder")
@click.argument("name")
@click.option(
    "-c", "--column", "columns", multiple=True, required=True, help="Column to cluster by (repeat)."
)
@click.option("--target-size", default="128MB", show_default=True)
@format_option
@click.pass_context
def zorder(
    ctx: click.Context, name: str, columns: tuple[str, ...], target_size: str, fmt: str
) -> None:
    """Cluster NAME's files along a Z-order curve of the columns (Delta)."""
    from duckpipe.core.errors import SinkError

    lake = _lake(ctx)
    if not lake.capabilities.supports_zorder:
        raise SinkError(
            f"{lake.format} tables do not support Z-order",
            where=name,
            hint="Iceberg tables cluster by their sort order; use `duckpipe table optimize`",
        )
    _maintenance(fmt, lake.zorder(name, list(columns), target_size=parse_size(target_size)))  # type: ignore[attr-defined]


@command.command("vacuum")
@click.argument("name")
@click.option(
    "--retention-hours",
    default=168.0,
    show_default=True,
    help="Keep versions and files younger than this.",
)
@click.option("--dry-run", is_flag=True, help="List what would be deleted, delete nothing.")
@click.option("--force", is_flag=True, help="Allow a retention below the safe minimum (168 h).")
@format_option
@click.pass_context
def vacuum(
    ctx: click.Context, name: str, retention_hours: float, dry_run: bool, force: bool, fmt: str
) -> None:
    """Expire old versions of NAME and delete the files nothing references any more."""
    result = _lake(ctx).vacuum(
        name, retention_hours=retention_hours, dry_run=dry_run, enforce_retention=not force
    )
    _maintenance(fmt, result)


def parse_size(text: str) -> int:
    """Bytes from ``--target-size`` (``134217728``, ``128MB``, ``1GB``, ``512KiB``; see ``core.units``).

    >>> parse_size("128MB"), parse_size("1GB"), parse_size("4096")
    (134217728, 1073741824, 4096)
    """
    from duckpipe.core.errors import ConfigError

    try:
        return units.parse_size(text)
    except ValueError:
        raise ConfigError(
            f"cannot read the size '{text}'",
            where="--target-size",
            hint=f"write {units.SIZE_FORMS}",
        ) from None
