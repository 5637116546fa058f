"""Query layout: what the project's models filter lake tables on, against how they are laid out.

Only runs inside a project. A model that reads a partitioned table without a
filter on a partition column reads every partition; a column models filter on
that is neither a partition column nor clustered is a Z-order (Delta) or sort
(Iceberg, Parquet) candidate. How well a column is clustered comes from the
per-file min/max statistics: the average number of files a point filter on it
cannot skip.
"""

from __future__ import annotations

from collections.abc import Iterator

from duckpipe.advisor.facts import TableFacts
from duckpipe.advisor.findings import Finding, human_bytes, size_arg
from duckpipe.advisor.rules.base import Context, duckdb_copy, per_table, scan_usd


@per_table
def unfiltered_partition_scan(facts: TableFacts, ctx: Context) -> Iterator[Finding]:
    """A model reads a partitioned table without filtering on its partition columns."""
    if ctx.usage is None or not facts.partitioned:
        return
    keys = set(facts.scheme.source_columns) | set(facts.scheme.names)
    partitions = len(facts.partitions())
    for scan in ctx.usage.scans_of(facts):
        if scan.filters_for(facts) & keys:
            continue
        runs = ctx.usage.model_runs(scan.model, ctx.th.scans_per_month)
        monthly = scan_usd(ctx, facts.total_bytes, runs)
        column = facts.scheme.source_columns[0]
        yield Finding(
            rule="unfiltered_partition_scan",
            table=facts.name,
            severity="medium",
            title=(
                f"model {scan.model} reads all {partitions:,} partitions "
                f"({human_bytes(facts.total_bytes)}) without a filter on {column}"
            ),
            evidence={
                "model": scan.model,
                "model_path": scan.model_path,
                "partition_columns": ", ".join(facts.scheme.source_columns),
                "partitions": partitions,
                "bytes_per_run": facts.total_bytes,
                "runs_per_month": runs,
                "filter_columns": ", ".join(sorted(scan.filters_for(facts))) or None,
            },
            monthly_usd=monthly,
            fix=(
                f"add a filter on {column} to {scan.model_path} (for an incremental model: "
                f"where {column} > (select max({column}) from {{{{ this }}}}))"
            ),
            detail=(
                "A filter on the partition column lets the scan skip whole partitions. "
                "The money shown is what these full reads cost at serverless SQL prices: "
                "the most a filter can save."
            ),
            assumptions=(
                _runs_source(ctx, scan.model, runs),
                f"reads priced at ${ctx.prices.compute.serverless_per_tb_scanned}/TB scanned",
            ),
        )


@per_table
def clustering_candidate(facts: TableFacts, ctx: Context) -> Iterator[Finding]:
    """A column models filter on that every file's min/max range overlaps."""
    if ctx.usage is None or facts.file_count < 2:
        return
    keys = set(facts.scheme.source_columns) | set(facts.scheme.names)
    users: dict[str, list[str]] = {}
    joins: set[str] = set()
    for scan in ctx.usage.scans_of(facts):
        for column in scan.filters_for(facts) - keys:
            users.setdefault(column, []).append(scan.model)
        joins |= scan.join_columns - keys
    candidates = [
        (c, d)
        for c in sorted(users)
        if (d := facts.clustering.get(c, 0.0)) > ctx.th.clustering_min_files
    ]
    if not candidates:
        return
    candidates.sort(key=lambda cd: (-cd[1], cd[0]))
    column, depth = candidates[0]
    runs = sum(ctx.usage.model_runs(m, ctx.th.scans_per_month) for m in users[column])
    avg_file = facts.total_bytes / facts.file_count
    monthly = scan_usd(ctx, (depth - 1) * avg_file, runs)
    columns = [c for c, _ in candidates][:2]
    if facts.format == "delta":
        fix = ctx.table_command("zorder", facts, *[a for c in columns for a in ("--column", c)])
    elif facts.format == "iceberg":
        fix = f"give {facts.name} the sort order ({', '.join(columns)}), then " + (
            ctx.table_command(
                "optimize", facts, "--target-size", size_arg(ctx.th.target_file_bytes)
            )
        )
    else:
        fix = duckdb_copy(facts, ctx.th.target_file_bytes, order_by=", ".join(columns))
    yield Finding(
        rule="clustering_candidate",
        table=facts.name,
        severity="medium" if depth >= 10 else "low",
        title=(
            f"a filter on {column} reads {depth:,.1f} of {facts.file_count:,} files on average; "
            f"cluster by {', '.join(columns)}"
        ),
        evidence={
            "column": column,
            "files_read_per_filter": round(depth, 2),
            "files": facts.file_count,
            "models": ", ".join(sorted(set(users[column]))),
            "filtered_reads_per_month": runs,
            "other_candidates": ", ".join(c for c, _ in candidates[1:]) or None,
            "join_columns": ", ".join(sorted(joins)) or None,
        },
        monthly_usd=monthly,
        fix=fix,
        detail=(
            f"Per-file min/max ranges of {column} overlap, so a filter on it cannot skip "
            f"files. Clustering on it makes the ranges disjoint: a point filter then reads "
            f"about one file per partition instead of {depth:,.1f}."
        ),
        assumptions=(
            _runs_source(ctx, ", ".join(sorted(set(users[column]))), runs),
            "a filtered read touches one partition",
            f"reads priced at ${ctx.prices.compute.serverless_per_tb_scanned}/TB scanned",
        ),
    )


def _runs_source(ctx: Context, models: str, runs: int) -> str:
    if ctx.usage is not None and ctx.usage.run_hours_per_month is not None:
        return f"{runs} runs a month of {models} (run history)"
    return f"{runs} runs a month of {models} (no run history: thresholds.scans_per_month)"
