"""``analyze_lake``: list the path once, read each table's metadata, judge, report.

>>> report = analyze_lake("./lake")                      # doctest: +SKIP
>>> [(f.severity, f.table, f.fix) for f in report.findings]  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from duckpipe.advisor.delta import delta_table_facts
from duckpipe.advisor.discover import TableRef, discover
from duckpipe.advisor.facts import TableFacts
from duckpipe.advisor.findings import material
from duckpipe.advisor.iceberg import catalog_metadata, iceberg_table_facts
from duckpipe.advisor.parquet import parquet_table_facts
from duckpipe.advisor.prices import Prices, default_prices
from duckpipe.advisor.report import Report
from duckpipe.advisor.rules import Context, run_rules
from duckpipe.advisor.storage import LakeLocation, open_location
from duckpipe.advisor.usage import ProjectUsage, project_usage
from duckpipe.core.console import Console, NullConsole
from duckpipe.core.errors import ConfigError, DuckpipeError

if TYPE_CHECKING:
    from duckpipe.project import Project


def analyze_lake(
    path: str,
    *,
    prices: Prices | None = None,
    project: Project | None = None,
    storage_options: Mapping[str, str] | None = None,
    console: Console | None = None,
    now: float | None = None,
    command: tuple[str, ...] = ("duckpipe",),
) -> Report:
    """Facts and findings for every table under ``path`` (a lake root or one table).

    ``project`` adds what only a project knows: the columns its models filter
    on, its run history and its pipeline kind. ``now`` fixes the clock (tests);
    ``command`` is how fixes call duckpipe (e.g. ``("duckpipe", "-p", "shop")``).
    """
    console = console or NullConsole()
    prices = prices or default_prices()
    started = time.perf_counter()
    options = {**(project.config.storage_options if project else {}), **(storage_options or {})}
    location = open_location(path, options)  # a relative path is relative to where we run
    with console.progress(f"listing {location.uri}") as bar:
        objects = location.list_files()
        bar.advance(1, rate=f"{len(objects):,} files")
    refs = discover(location, objects)
    if project is not None and location.uri == _normalised(project.lake_uri):
        refs = _with_catalog(refs, project)
    if not refs:
        raise ConfigError(
            "no Delta, Iceberg or Parquet tables found",
            where=location.uri,
            hint="pass the lake root or a table folder (one holding _delta_log, metadata/ "
            "or .parquet files)",
        )
    th = prices.thresholds
    usage = (
        project_usage(project, now=now, min_history_days=th.min_history_days) if project else None
    )
    tables: list[TableFacts] = []
    warnings = [f"model not analysed: {u}" for u in usage.unparsed] if usage else []
    if usage and usage.short_history:
        warnings.append(f"no usage extrapolated: {usage.short_history}")
    with console.progress("reading table metadata", total=len(refs)) as bar:
        for ref in refs:
            try:
                tables.append(table_facts(ref, prices, _filter_columns(ref, usage)))
            except (DuckpipeError, OSError) as exc:
                warnings.append(f"table {ref.name} skipped: {exc}")
                console.warn(f"table {ref.name} skipped: {exc}")
            bar.advance(1, rate=ref.name)
    clock = time.time() if now is None else now
    ctx = Context(prices=prices, now=clock, usage=usage, command=command)
    lake_usd = lake_monthly_usd(tables, prices, usage)
    floor = th.materiality_usd(lake_usd)
    kept, below = material(run_rules(tables, ctx), floor)
    return Report(
        path=location.uri,
        generated_at=clock,
        tables=tables,
        findings=kept,
        prices=prices,
        project=project.config.name if project else None,
        scan_seconds=time.perf_counter() - started,
        warnings=tuple(warnings),
        below_materiality=len(below),
        lake_monthly_usd=lake_usd,
    )


def lake_monthly_usd(tables: list[TableFacts], prices: Prices, usage: ProjectUsage | None) -> float:
    """The lake's estimated monthly cost: its bytes in the standard class, plus the project's
    VM hours when a run history says how many."""
    stored = sum(t.total_bytes + t.unreferenced.bytes for t in tables)
    hours = usage.run_hours_per_month if usage else None
    return stored * prices.usd_per_byte_month() + (hours or 0.0) * prices.compute.on_demand_hour


def table_facts(
    ref: TableRef, prices: Prices, clustering_columns: set[str] | None = None
) -> TableFacts:
    """Facts of one discovered table, by its format."""
    th = prices.thresholds
    if ref.format == "delta":
        return delta_table_facts(ref.name, ref.location, ref.objects, th, clustering_columns)
    if ref.format == "iceberg":
        return iceberg_table_facts(
            ref.name,
            ref.location,
            ref.objects,
            th,
            clustering_columns,
            metadata_location=ref.metadata_location,
        )
    return parquet_table_facts(ref.name, ref.location, ref.objects, th, clustering_columns)


def _normalised(uri: str) -> str:
    return uri.rstrip("/") if "://" in uri else os.path.abspath(uri)


def _with_catalog(refs: list[TableRef], project: Project) -> list[TableRef]:
    """Iceberg tables of the project's lake, pointed at the catalog's current metadata."""
    names = [r.name for r in refs if r.format == "iceberg"]
    if not names:
        return refs
    current = catalog_metadata(project, names)
    return [replace(r, metadata_location=current.get(r.name)) for r in refs]


def _filter_columns(ref: TableRef, usage: ProjectUsage | None) -> set[str] | None:
    """Columns project models filter ``ref`` on: the only ones worth clustering stats."""
    if usage is None:
        return None
    probe = TableFacts(ref.name, ref.format, ref.location.uri, ())
    columns: set[str] = set()
    for scan in usage.scans_of(probe):
        columns |= scan.filter_columns | scan.unqualified_filters
    return columns


__all__ = ["LakeLocation", "analyze_lake", "table_facts"]
