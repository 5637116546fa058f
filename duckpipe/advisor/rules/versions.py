"""Versions and snapshots kept, and the bytes no current reader needs."""

from __future__ import annotations

from collections.abc import Iterator

from duckpipe.advisor.facts import DAY, TableFacts
from duckpipe.advisor.findings import Finding, Severity, human_bytes
from duckpipe.advisor.prices import GiB
from duckpipe.advisor.rules.base import Context, per_table, storage_usd


def vacuum_args(retain_hours: int) -> list[str]:
    """``duckpipe table vacuum`` options keeping ``retain_hours`` of history."""
    from duckpipe.sinks.maintenance import MIN_RETENTION_HOURS

    args = ["--retention-hours", str(retain_hours)]
    # below the safe minimum the command insists on an explicit --force
    return [*args, "--force"] if retain_hours < MIN_RETENTION_HOURS else args


@per_table
def version_bloat(facts: TableFacts, ctx: Context) -> Iterator[Finding]:
    """Old versions' files and orphans that vacuum / snapshot expiry would delete."""
    if facts.format == "parquet":
        return
    th = ctx.th
    gone = facts.unreferenced
    live = facts.total_bytes
    many_versions = facts.versions > th.max_versions
    reclaim = gone.freeable_bytes
    worth = reclaim > 0 and (reclaim >= th.bloat_min_share * live or reclaim >= GiB)
    if not (worth or many_versions):
        return
    share = reclaim / live if live else float("inf")
    severity: Severity = "high" if share >= 1 else "medium" if share >= 0.5 else "low"
    waiting = gone.bytes - gone.freeable_bytes
    unit = "versions" if facts.format == "delta" else "snapshots"
    oldest_days = (
        round((ctx.now - facts.oldest_version_at) / DAY, 1)
        if facts.oldest_version_at is not None
        else None
    )
    yield Finding(
        rule="version_bloat",
        table=facts.name,
        severity=severity,
        title=(
            f"{facts.versions:,} {unit} kept; {human_bytes(reclaim)} in "
            f"{gone.freeable_files:,} unreferenced files can be freed"
        ),
        evidence={
            "versions": facts.versions,
            "oldest_version_days": oldest_days,
            "live_bytes": live,
            "unreferenced_files": gone.files,
            "unreferenced_bytes": gone.bytes,
            "freeable_files": gone.freeable_files,
            "freeable_bytes": reclaim,
            "freeable_share_of_live": round(share, 4) if live else None,
            "retain_hours": gone.retain_hours,
        },
        monthly_usd=storage_usd(ctx, reclaim),
        fix=ctx.table_command("vacuum", facts, *vacuum_args(gone.retain_hours)),
        detail=(
            f"Files replaced by later {unit} stay in storage until "
            + ("vacuum deletes them" if facts.format == "delta" else "snapshots expire")
            + f". Keeping {gone.retain_hours} hours of history frees {human_bytes(reclaim)}"
            + (
                f"; {human_bytes(waiting)} more becomes freeable as it ages past that"
                if waiting > 0
                else ""
            )
            + f". Time travel to {unit} older than the retention stops working."
        ),
        assumptions=(f"retention of {gone.retain_hours} hours (thresholds.vacuum_retain_hours)",),
    )
