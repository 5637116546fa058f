"""The report in each output format: table (terminal), json, html."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from importlib import resources
from typing import TextIO

from duckpipe.advisor import charts
from duckpipe.advisor.findings import format_value, human_bytes, usd
from duckpipe.advisor.render_text import render_terminal, summary_line
from duckpipe.advisor.report import Report

FORMATS = ("table", "json", "html")


def render(report: Report, fmt: str, *, colour: bool | None = False) -> str:
    """The whole report as text in ``fmt``."""
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2) + "\n"
    if fmt == "html":
        return render_html(report)
    buffer = io.StringIO()
    render_terminal(report, buffer, colour=colour)
    return buffer.getvalue()


def write_report(report: Report, fmt: str, stream: TextIO) -> None:
    """Write ``report`` to ``stream``; terminal output keeps colour on a terminal."""
    if fmt == "table":
        render_terminal(report, stream, colour=None if stream.isatty() else False)
    else:
        stream.write(render(report, fmt))


def render_html(report: Report) -> str:
    """One self-contained HTML page: inline CSS and SVG charts, no scripts, no network."""
    import jinja2

    from duckpipe import __version__

    source = resources.files("duckpipe.advisor").joinpath("report.html").read_text()
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(source)
    th = report.prices.thresholds
    tables = [report.table_dict(t) for t in report.tables]
    table_charts = [
        {
            "histogram": charts.file_size_histogram(t["file_size_histogram"], t["name"]),
            "partitions": charts.partition_sizes(
                t["partition_sizes"], th.partition_min_bytes, t["name"]
            )
            if t["partition_sizes"]
            else "",
        }
        for t in tables
    ]
    tier_chart = charts.age_tiers(
        [(t["name"], t["age_tiers"]) for t in tables], (th.warm_after_days, th.cold_after_days)
    )
    return template.render(
        report=report,
        tables=tables,
        charts=table_charts,
        tier_chart=tier_chart,
        summary=summary_line(report),
        generated=datetime.fromtimestamp(report.generated_at, UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        usd=usd,
        human_bytes=human_bytes,
        format_value=format_value,
    )
