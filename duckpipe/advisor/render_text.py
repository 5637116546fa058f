"""The cost report for a terminal: a summary line, a table per table, ranked findings."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from duckpipe.advisor.findings import format_value, human_bytes, usd
from duckpipe.advisor.report import Report

if TYPE_CHECKING:
    from rich.console import Console

_COLOURS = {"high": "red", "medium": "yellow", "low": "cyan"}


def render_terminal(report: Report, stream: TextIO, *, colour: bool | None = None) -> None:
    """Write the report to ``stream`` (colour when it is a terminal, unless told)."""
    from rich.console import Console

    console = Console(
        file=stream,
        highlight=False,
        soft_wrap=colour is False,
        force_terminal=colour,
        no_color=colour is False,
        width=None if colour is not False else 140,
    )
    _header(console, report)
    _tables(console, report)
    _findings(console, report)
    _prices(console, report)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", markup=True)


def summary_line(report: Report) -> str:
    s = report.summary()
    sev = s["by_severity"]
    return (
        f"{s['tables']} tables, {s['files']:,} files, {human_bytes(s['bytes'])}; "
        f"{s['findings']} findings ({sev['high']} high, {sev['medium']} medium, "
        f"{sev['low']} low); est. {usd(s['monthly_usd'])}/month to save; "
        f"storage now {usd(s['monthly_storage_usd'])}/month; {materiality_line(report)}"
    )


def materiality_line(report: Report) -> str:
    """``N findings below materiality ($X/month, Y%)``: what was dropped, and the line drawn."""
    th = report.prices.thresholds
    return (
        f"{report.below_materiality} findings below materiality "
        f"({usd(th.min_monthly_usd)}/month, {th.min_monthly_share:.0%})"
    )


def _header(console: Console, report: Report) -> None:
    from rich.markup import escape

    project = f" (project {escape(report.project)})" if report.project else ""
    console.print(f"[bold]duckpipe cost report[/bold] for {escape(report.path)}{project}")
    console.print(
        escape(summary_line(report)) + f" [dim]scanned in {report.scan_seconds:.1f}s[/dim]"
    )


def _tables(console: Console, report: Report) -> None:
    from rich.table import Table

    table = Table(title="Tables", title_justify="left")
    for name in (
        "table",
        "format",
        "files",
        "size",
        "rows",
        "partitions",
        "median file",
        "versions",
        "freeable",
        "findings",
    ):
        table.add_column(name, justify="left" if name in ("table", "format") else "right")
    for t in report.tables:
        rows = t.total_rows
        table.add_row(
            t.name,
            t.format,
            f"{t.file_count:,}",
            human_bytes(t.total_bytes),
            "-" if rows is None else f"{'~' if t.rows_estimated else ''}{rows:,}",
            f"{len(t.partitions()):,} by {t.scheme.describe()}" if t.partitioned else "-",
            human_bytes(t.median_file_bytes()),
            f"{t.versions:,}",
            human_bytes(t.unreferenced.freeable_bytes),
            str(len(report.findings_for(t.name))),
        )
    console.print(table)


def _findings(console: Console, report: Report) -> None:
    from rich.markup import escape

    if not report.findings:
        console.print("[green]No findings: every table is within the guidelines.[/green]")
        return
    console.print("[bold]Findings[/bold], most severe first:")
    for i, f in enumerate(report.findings, 1):
        colour = _COLOURS[f.severity]
        where = f" {escape(f.table)}" if f.table else ""
        console.print(
            f"{i:>3}. [{colour}]{f.severity.upper():<6}[/{colour}] [bold]{f.rule}[/bold]{where}: "
            f"{escape(f.title)}  [bold]{usd(f.monthly_usd)}/month[/bold]"
        )
        evidence = ", ".join(f"{k}={format_value(k, v)}" for k, v in f.evidence.items())
        console.print(f"       [dim]evidence:[/dim] {escape(evidence)}")
        console.print(f"       [dim]fix:[/dim] [green]{escape(f.fix)}[/green]")
        if f.detail:
            console.print(f"       [dim]why:[/dim] {escape(f.detail)}")
        if f.assumptions:
            console.print(f"       [dim]assumes:[/dim] {escape('; '.join(f.assumptions))}")


def _prices(console: Console, report: Report) -> None:
    from rich.markup import escape

    p = report.prices
    classes = ", ".join(f"{name} ${c.gb_month:g}" for name, c in p.storage_classes.items())
    std = p.storage("standard")
    console.print(
        f"[dim]prices used ({escape('; '.join(p.sources))}): {p.currency} per GB-month "
        f"{classes}; per 1,000 requests GET ${std.get_per_1000:g}, PUT ${std.put_per_1000:g}, "
        f"LIST ${p.list_per_1000:g}; on-demand VM ${p.compute.on_demand_hour:g}/hour, spot "
        f"-{p.compute.spot_discount:.0%}, serverless SQL ${p.compute.serverless_per_tb_scanned:g}"
        "/TB[/dim]"
    )
