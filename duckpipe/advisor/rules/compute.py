"""Compute per pipeline kind: spot for batch, on-demand for streaming, serverless for ad hoc."""

from __future__ import annotations

from collections.abc import Iterator

from duckpipe.advisor.facts import TableFacts
from duckpipe.advisor.findings import Finding, severity_for_usd
from duckpipe.advisor.rules.base import Context, scan_usd

HOURS_PER_MONTH = 730.0


def compute_advice(tables: list[TableFacts], ctx: Context) -> Iterator[Finding]:
    """One finding per kind of pipeline the project runs."""
    usage = ctx.usage
    if usage is None:
        return
    price = ctx.prices.compute
    hours = usage.run_hours_per_month
    if usage.kind == "batch" and usage.short_history is None:
        used = hours if hours is not None else HOURS_PER_MONTH
        monthly = used * price.on_demand_hour * price.spot_discount
        yield Finding(
            rule="compute_batch_spot",
            table=None,
            # without a run history the hours are a guess: never more than low
            severity=severity_for_usd(monthly) if hours is not None else "low",
            title=f"run the batch pipeline {usage.name} on spot capacity",
            evidence={
                "kind": "batch",
                "runs_per_month": usage.project_runs_per_month,
                "run_hours_per_month": round(used, 3),
                "on_demand_usd_per_hour": price.on_demand_hour,
                "spot_discount": price.spot_discount,
            },
            monthly_usd=monthly,
            fix=(
                "schedule `duckpipe run` on a spot instance (e.g. an EC2 Spot or AWS Batch "
                "job that retries on interruption)"
            ),
            detail=(
                "Batch runs can be interrupted safely: each table commit stores its source "
                "position, so a re-run after an interruption resumes without duplicates."
            ),
            assumptions=(
                f"{used:.1f} VM hours a month "
                + ("(run history)" if hours is not None else "(no run history: always-on VM)"),
            ),
        )
    if usage.kind == "streaming" or usage.streams:
        monthly_cost = HOURS_PER_MONTH * price.on_demand_hour
        yield Finding(
            rule="compute_streaming_on_demand",
            table=None,
            severity="low",
            title=f"keep the {len(usage.streams) or 1} stream(s) of {usage.name} on on-demand capacity",
            evidence={
                "kind": "streaming",
                "streams": ", ".join(usage.streams) or None,
                "always_on_usd_per_month": round(monthly_cost, 2),
                "on_demand_usd_per_hour": price.on_demand_hour,
            },
            monthly_usd=0.0,
            fix="run `duckpipe stream` on an on-demand instance; do not use spot for streams",
            detail=(
                "A stream runs all the time: a spot interruption stops consumption, grows lag "
                "and triggers a replay. The saving of spot is not worth the lag; a savings "
                "plan or reserved instance lowers the always-on cost instead."
            ),
            assumptions=("one always-on VM per project for its streams",),
        )
    if usage.kind == "adhoc":
        scanned = sum(t.total_bytes for t in tables)
        serverless = scan_usd(ctx, scanned, ctx.th.scans_per_month)
        always_on = HOURS_PER_MONTH * price.on_demand_hour
        monthly = always_on - serverless
        if monthly <= 0:
            return
        yield Finding(
            rule="compute_adhoc_serverless",
            table=None,
            severity=severity_for_usd(monthly),
            title=f"query {usage.name} with serverless SQL instead of an always-on VM",
            evidence={
                "kind": "adhoc",
                "lake_bytes": scanned,
                "scans_per_month": ctx.th.scans_per_month,
                "serverless_usd_per_month": round(serverless, 4),
                "always_on_usd_per_month": round(always_on, 2),
            },
            monthly_usd=monthly,
            fix=(
                "stop the always-on VM and run ad hoc queries where they are billed per use "
                "(a serverless SQL engine over the lake, or `duckpipe query` on demand)"
            ),
            detail="Ad hoc work is idle most of the time; pay per query instead of per hour.",
            assumptions=(
                f"{ctx.th.scans_per_month} full reads of the lake a month",
                "the VM now runs all month",
            ),
        )
