"""File sizes against the 512 MB - 1 GB Parquet target."""

from __future__ import annotations

from collections.abc import Iterator

from duckpipe.advisor.facts import TableFacts
from duckpipe.advisor.findings import Finding, Severity, human_bytes, size_arg
from duckpipe.advisor.rules.base import (
    Context,
    duckdb_copy,
    files_after_compaction,
    per_table,
    request_usd,
)


@per_table
def small_files(facts: TableFacts, ctx: Context) -> Iterator[Finding]:
    """Many files far below the target that bin-packing each partition would merge."""
    th = ctx.th
    n = facts.file_count
    after = files_after_compaction((p.bytes for p in facts.partitions()), th.target_file_bytes)
    excess = n - after
    small = [f for f in facts.files if f.bytes < th.small_file_bytes]
    if excess < th.min_excess_files or not small:
        return
    small_bytes = sum(f.bytes for f in small)
    total = facts.total_bytes
    scans, scans_from = ctx.scans_per_month(facts)
    monthly = request_usd(ctx, n, after, scans)
    severity: Severity = "high" if excess >= 1000 else "medium" if excess >= 100 else "low"
    target = size_arg(th.target_file_bytes)
    fix = (
        duckdb_copy(facts, th.target_file_bytes)
        if facts.format == "parquet"
        else ctx.table_command("optimize", facts, "--target-size", target)
    )
    yield Finding(
        rule="small_files",
        table=facts.name,
        severity=severity,
        title=(
            f"{len(small):,} small files (median {human_bytes(facts.median_file_bytes())}); "
            f"compaction to {target} leaves {after:,}"
        ),
        evidence={
            "files": n,
            "small_files": len(small),
            "small_file_bytes_limit": th.small_file_bytes,
            "small_bytes": small_bytes,
            "small_bytes_share": round(small_bytes / total, 4) if total else 0.0,
            "total_bytes": total,
            "median_file_bytes": facts.median_file_bytes(),
            "target_file_bytes": th.target_file_bytes,
            "files_after_compaction": after,
            "scans_per_month": scans,
            "get_requests_saved_per_month": scans * excess * th.requests_per_file_scan,
        },
        monthly_usd=monthly,
        fix=fix,
        detail=(
            f"Every read opens every file: {n:,} files cost {th.requests_per_file_scan} GET "
            f"requests each per scan, and per-file overhead dominates query time. Bin-packing "
            f"each partition to {target} files leaves {after:,} files."
            + (
                " Write the rewritten folder, check it, then swap it in for the old one."
                if facts.format == "parquet"
                else ""
            )
        ),
        assumptions=(scans_from, f"{th.requests_per_file_scan} GET requests per file read"),
    )


@per_table
def oversized_files(facts: TableFacts, ctx: Context) -> Iterator[Finding]:
    """Files far above the target: one reader per file limits parallelism and retries."""
    th = ctx.th
    big = [f for f in facts.files if f.bytes > th.oversized_file_bytes]
    if not big:
        return
    big_bytes = sum(f.bytes for f in big)
    share = big_bytes / facts.total_bytes
    target = size_arg(th.max_file_bytes)
    # compaction only merges small files; a rewrite through the writer splits big ones
    fix = duckdb_copy(facts, th.max_file_bytes) if facts.format == "parquet" else ctx.rebuild(facts)
    yield Finding(
        rule="oversized_files",
        table=facts.name,
        severity="medium" if share > 0.5 else "low",
        title=f"{len(big):,} files larger than {human_bytes(th.oversized_file_bytes)}",
        evidence={
            "files": facts.file_count,
            "oversized_files": len(big),
            "oversized_bytes": big_bytes,
            "oversized_bytes_share": round(share, 4),
            "largest_file_bytes": max(f.bytes for f in big),
            "max_file_bytes": th.max_file_bytes,
        },
        monthly_usd=0.0,
        fix=fix,
        detail=(
            "Storage cost does not change; a file is read by one task, so very large files "
            "limit parallelism and a failed read repeats the whole file. Rewrite them to "
            f"files of at most {target}"
            + (
                "."
                if facts.format == "parquet"
                else ": a full refresh rewrites the table in files of the writer's target size."
            )
        ),
        assumptions=("no money effect is estimated: the cost is query time",),
    )
