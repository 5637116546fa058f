"""Partitions against the > 1 GB per partition guideline: too many, too few, skewed."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from duckpipe.advisor.facts import TableFacts
from duckpipe.advisor.findings import Finding, Severity, human_bytes
from duckpipe.advisor.rules.base import (
    Context,
    duckdb_copy,
    files_after_compaction,
    per_table,
    request_usd,
    scan_usd,
)

# temporal granularity of partition values, finest first; value prefix length per level
LEVELS = ("hour", "day", "month", "year")
PREFIX = {"day": 10, "month": 7, "year": 4}
_VALUE_LEVEL = (
    (re.compile(r"^\d{4}-\d{2}-\d{2}[ T-]\d{2}"), "hour"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "day"),
    (re.compile(r"^\d{4}-\d{2}$"), "month"),
)


@dataclass(frozen=True)
class SchemeField:
    """One field of a candidate scheme: ``day(ts)`` keeps the first ``cut`` characters of ts."""

    expr: str  # as duckpipe.yml spells it: a column, or transform(column)
    column: str  # the partition column (hive folder name)
    cut: int | None = None  # value prefix kept when coarsened


@dataclass(frozen=True)
class Scheme:
    """A candidate partitioning: its description and how to map a current key to its key."""

    fields: tuple[SchemeField, ...]
    key: Callable[[str], str]

    @property
    def describe(self) -> str:
        return ", ".join(f.expr for f in self.fields) or "none"


def coarser_schemes(facts: TableFacts) -> list[Scheme]:
    """Ever coarser schemes, ending with no partitioning: hour -> day -> month -> year -> none.

    Each step coarsens the last field one temporal level, or drops it when it has none.
    """
    current = [
        (name, source, transform, _level(facts, i, transform))
        for i, (name, source, transform) in enumerate(facts.scheme.fields)
    ]
    fields = list(current)
    out = []
    while fields:
        name, source, transform, level = fields[-1]
        if level in ("hour", "day", "month"):
            fields[-1] = (name, source, transform, LEVELS[LEVELS.index(level) + 1])
        else:
            fields.pop()
        out.append(_scheme(current, list(fields)))
    return out


def _level(facts: TableFacts, index: int, transform: str) -> str | None:
    """The temporal granularity of a partition field, from its transform or its values."""
    if transform in LEVELS:
        return transform
    values = {p.split("/")[index].split("=", 1)[-1] for p in facts.partition_keys()}
    for pattern, level in _VALUE_LEVEL:
        if values and all(pattern.match(v) for v in values):
            return level
    return None


Field = tuple[str, str, str, str | None]  # name, source column, transform, level


def _scheme(current: list[Field], fields: list[Field]) -> Scheme:
    out: list[SchemeField] = []
    for (name, source, transform, level), (_, _, _, was) in zip(fields, current, strict=False):
        if level != was:
            out.append(SchemeField(f"{level}({source})", name, PREFIX.get(level or "")))
        elif transform != "identity":
            out.append(SchemeField(f"{transform}({source})", name))
        else:
            out.append(SchemeField(name, name))
    cuts = [f.cut for f in out]

    def key(partition: str) -> str:
        parts = partition.split("/")[: len(fields)]
        kept = []
        for part, cut in zip(parts, cuts, strict=False):
            col, _, value = part.partition("=")
            kept.append(f"{col}={value[:cut]}" if cut else part)
        return "/".join(kept)

    return Scheme(tuple(out), key)


def regroup(facts: TableFacts, scheme: Scheme) -> dict[str, int]:
    """Bytes per partition under ``scheme``."""
    groups: dict[str, int] = {}
    for p in facts.partitions():
        k = scheme.key(p.key)
        groups[k] = groups.get(k, 0) + p.bytes
    return groups


def _repartition_fix(facts: TableFacts, scheme: Scheme, ctx: Context) -> str:
    """How to rewrite ``facts`` with ``scheme``, in the table's own terms."""
    if facts.format == "parquet":
        replace = [
            f"substr(CAST({f.column} AS VARCHAR), 1, {f.cut}) AS {f.column}"
            for f in scheme.fields
            if f.cut
        ]
        return duckdb_copy(
            facts,
            ctx.th.target_file_bytes,
            partition_by=", ".join(f.column for f in scheme.fields),
            replace=", ".join(replace),
        )
    listed = ", ".join(f.expr for f in scheme.fields)
    derived = [f.expr for f in scheme.fields if f.cut and facts.format == "delta"]
    how = (
        f"add the column(s) {', '.join(derived)} to the model (Delta partitions by plain "
        "columns) and "
        if derived
        else ""
    )
    return (
        f"{how}set partition_by: [{listed}] for {facts.name} in duckpipe.yml, then run "
        f"{ctx.rebuild(facts)}"
    )


@per_table
def over_partitioning(facts: TableFacts, ctx: Context) -> Iterator[Finding]:
    """Many partitions far below the guideline: suggest the first coarser scheme that meets it."""
    th = ctx.th
    parts = facts.partitions()
    if not facts.partitioned or len(parts) < th.min_partitions:
        return
    median = statistics.median(p.bytes for p in parts)
    if median >= th.partition_min_bytes:
        return
    chosen = None
    for scheme in coarser_schemes(facts):
        groups = regroup(facts, scheme)
        chosen = (scheme, groups)
        if statistics.median(groups.values()) >= th.partition_min_bytes:
            break
    assert chosen is not None
    scheme, groups = chosen
    after = files_after_compaction(groups.values(), th.target_file_bytes)
    scans, scans_from = ctx.scans_per_month(facts)
    guideline = th.partition_min_bytes
    severity: Severity = (
        "high"
        if len(parts) >= 1000 and median < guideline / 100
        else "medium"
        if median < guideline / 10
        else "low"
    )
    yield Finding(
        rule="over_partitioning",
        table=facts.name,
        severity=severity,
        title=(
            f"{len(parts):,} partitions of median {human_bytes(median)} "
            f"(guideline > {human_bytes(guideline)}); "
            + (f"partition by {scheme.describe}" if scheme.fields else "do not partition it")
        ),
        evidence={
            "partitions": len(parts),
            "scheme": facts.scheme.describe(),
            "median_partition_bytes": int(median),
            "partitions_below_guideline": sum(1 for p in parts if p.bytes < guideline),
            "partition_min_bytes": guideline,
            "files": facts.file_count,
            "proposed_scheme": scheme.describe,
            "proposed_partitions": len(groups),
            "proposed_median_partition_bytes": int(statistics.median(groups.values())),
            "files_after": after,
            "scans_per_month": scans,
        },
        monthly_usd=max(0.0, request_usd(ctx, facts.file_count, after, scans)),
        fix=_repartition_fix(facts, scheme, ctx),
        detail=(
            "Each partition holds at least one file, so tiny partitions mean tiny files that "
            "compaction cannot merge, many LIST/GET requests and slow planning. "
            + (
                "The whole table is below the guideline: do not partition it."
                if not scheme.fields
                else f"Partitioning by {scheme.describe} gives {len(groups):,} partitions."
            )
        ),
        assumptions=(scans_from,),
    )


@per_table
def under_partitioning(facts: TableFacts, ctx: Context) -> Iterator[Finding]:
    """A large unpartitioned table, or partitions far above what pruning needs."""
    th = ctx.th
    total = facts.total_bytes
    parts = facts.partitions()
    if facts.partitioned:
        median = statistics.median(p.bytes for p in parts)
        if median < th.partition_max_bytes:
            return
    elif total < th.unpartitioned_max_bytes:
        return
    filters = _filter_columns(facts, ctx)
    candidate = filters[0][0] if filters else None
    k = max(2, math.ceil(total / th.partition_min_bytes))
    monthly = 0.0
    assumptions = [f"a filtered query reads one of ~{k:,} partitions of the guideline size"]
    if candidate and ctx.usage is not None:
        runs = sum(ctx.usage.model_runs(m, th.scans_per_month) for m in filters[0][1])
        monthly = scan_usd(ctx, total * (1 - 1 / k), runs)
        assumptions.append(f"{runs} filtered reads a month by {', '.join(filters[0][1])}")
    else:
        assumptions.append("no project models filter this table: no money effect estimated")
    by = candidate or "<a column queries filter on, e.g. a date>"
    yield Finding(
        rule="under_partitioning",
        table=facts.name,
        severity="medium",
        title=(
            f"{human_bytes(total)} in "
            + (f"{len(parts):,} partitions" if facts.partitioned else "one unpartitioned table")
            + f"; partition by {by}"
        ),
        evidence={
            "total_bytes": total,
            "partitions": len(parts) if facts.partitioned else 0,
            "scheme": facts.scheme.describe(),
            "median_partition_bytes": int(statistics.median(p.bytes for p in parts)),
            "suggested_column": candidate,
            "suggested_partitions": k,
        },
        monthly_usd=monthly,
        fix=(
            f"set partition_by: [{', '.join([*facts.scheme.names, by])}] for {facts.name} in "
            f"duckpipe.yml, then {ctx.rebuild(facts)}"
        ),
        detail=(
            "Without partitions, every filtered query reads the whole table. Partitions of "
            "about the guideline size let a filter skip what it does not need."
        ),
        assumptions=tuple(assumptions),
    )


@per_table
def partition_skew(facts: TableFacts, ctx: Context) -> Iterator[Finding]:
    """One partition much larger than the typical one."""
    th = ctx.th
    parts = facts.partitions()
    if not facts.partitioned or len(parts) < 3:
        return
    largest = parts[0]
    median = statistics.median(p.bytes for p in parts)
    if largest.bytes < th.partition_min_bytes or largest.bytes < th.skew_ratio * median:
        return
    ratio = largest.bytes / median if median else float("inf")
    buckets = min(256, max(2, math.ceil(largest.bytes / max(median, th.partition_min_bytes))))
    yield Finding(
        rule="partition_skew",
        table=facts.name,
        severity="high" if ratio >= 100 else "medium",
        title=(
            f"partition {largest.key} holds {human_bytes(largest.bytes)}, "
            f"{ratio:,.0f}x the median partition"
        ),
        evidence={
            "partitions": len(parts),
            "largest_partition": largest.key,
            "largest_partition_bytes": largest.bytes,
            "largest_partition_files": largest.files,
            "largest_partition_rows": largest.rows,
            "median_partition_bytes": int(median),
            "largest_share": round(largest.bytes / facts.total_bytes, 4),
            "skew_ratio": round(ratio, 2),
            "suggested_buckets": buckets,
        },
        monthly_usd=0.0,
        fix=(
            f"add a second partition field to {facts.name}, e.g. partition_by: "
            f"[{', '.join(facts.scheme.names)}, bucket({buckets}, <key column>)] in duckpipe.yml, "
            f"then {ctx.rebuild(facts)}"
        ),
        detail=(
            "Work split by partition waits for the largest one, and a filter on that value "
            f"still reads {human_bytes(largest.bytes)}. Splitting it into about {buckets} "
            "buckets evens the partitions out."
        ),
        assumptions=("no money effect is estimated: the cost is wall-clock time",),
    )


def _filter_columns(facts: TableFacts, ctx: Context) -> list[tuple[str, list[str]]]:
    """Columns project models filter ``facts`` on, most used first, with the models."""
    if ctx.usage is None:
        return []
    by_column: dict[str, list[str]] = {}
    for scan in ctx.usage.scans_of(facts):
        for column in scan.filters_for(facts):
            by_column.setdefault(column, []).append(scan.model)
    return sorted(by_column.items(), key=lambda kv: (-len(kv[1]), kv[0]))
