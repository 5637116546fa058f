"""Hot -> warm -> cold: move data nobody wrote for a while to cheaper storage classes.

A file moves to the warm class (Standard-IA by default) once untouched for
``warm_after_days`` and to the cold class (Glacier Instant Retrieval) after
``cold_after_days`` - never earlier than the class's minimum storage duration,
so a file that stays put is never billed for days it did not use. Files below a
class's minimum object size (128 KB for IA and Glacier IR) stay in Standard:
they would be billed as 128 KB. The saving is the storage price difference minus
the retrieval fees of the share of bytes still read each month.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator

from duckpipe.advisor.facts import DAY, FileFact, TableFacts
from duckpipe.advisor.findings import Finding, human_bytes, severity_for_usd
from duckpipe.advisor.prices import S3_CLASS_NAMES, GiB
from duckpipe.advisor.rules.base import Context, per_table, storage_usd


def transition_days(ctx: Context) -> dict[str, int]:
    """Age in days at which a file enters the warm and the cold class."""
    th = ctx.th
    warm = max(th.warm_after_days, ctx.prices.storage(th.warm_class).min_days)
    cold = max(th.cold_after_days, ctx.prices.storage(th.cold_class).min_days, warm)
    return {"warm": warm, "cold": cold}


@per_table
def lifecycle_tiering(facts: TableFacts, ctx: Context) -> Iterator[Finding]:
    """Data untouched long enough for a cheaper class, with the retrieval trade-off."""
    th = ctx.th
    days = transition_days(ctx)
    classes = {"warm": th.warm_class, "cold": th.cold_class}
    tiers: dict[str, list[FileFact]] = {"warm": [], "cold": []}
    too_small: list[FileFact] = []
    for f in facts.files:
        age = (ctx.now - f.modified) / DAY
        tier = "cold" if age >= days["cold"] else "warm" if age >= days["warm"] else None
        if tier is None:
            continue
        if f.bytes < ctx.prices.storage(classes[tier]).min_object_kb * 1024:
            too_small.append(f)
        else:
            tiers[tier].append(f)
    moved = {t: sum(f.bytes for f in files) for t, files in tiers.items()}
    if not any(moved.values()):
        return
    saving = retrieval = transition = 0.0
    for tier, nbytes in moved.items():
        cls = ctx.prices.storage(classes[tier])
        saving += storage_usd(ctx, nbytes) - storage_usd(ctx, nbytes, classes[tier])
        read = th.warm_read_fraction if tier == "warm" else th.cold_read_fraction
        retrieval += nbytes * read / GiB * cls.retrieval_per_gb
        transition += len(tiers[tier]) * cls.put_per_1000 / 1000
    monthly = saving - retrieval
    if monthly <= 0 or monthly < th.min_monthly_usd:
        return
    cold_class = ctx.prices.storage(th.cold_class)
    yield Finding(
        rule="lifecycle_tiering",
        table=facts.name,
        severity=severity_for_usd(monthly),
        title=(
            f"{human_bytes(moved['warm'] + moved['cold'])} untouched for over "
            f"{days['warm']} days sits in Standard storage"
        ),
        evidence={
            "warm_files": len(tiers["warm"]),
            "warm_bytes": moved["warm"],
            "warm_class": th.warm_class,
            "warm_after_days": days["warm"],
            "cold_files": len(tiers["cold"]),
            "cold_bytes": moved["cold"],
            "cold_class": th.cold_class,
            "cold_after_days": days["cold"],
            "files_below_min_object_size": len(too_small),
            "bytes_below_min_object_size": sum(f.bytes for f in too_small),
            "storage_saving_usd": round(saving, 4),
            "retrieval_usd": round(retrieval, 4),
            "transition_usd_once": round(transition, 4),
            "payback_months": round(transition / monthly, 2),
            "age_source": facts.age_source,
        },
        monthly_usd=monthly,
        fix=_lifecycle_command(facts, ctx, days),
        detail=(
            f"Warm ({th.warm_class}) and cold ({th.cold_class}) storage cost less per GB but "
            "charge per GB read and bill a minimum storage duration "
            f"({ctx.prices.storage(th.warm_class).min_days} / {cold_class.min_days} days): "
            "compact and vacuum before tiering, because rewriting a file moved early is "
            "billed for the rest of that duration. Files under the minimum object size stay "
            "in Standard. Lifecycle rules count days from each object's creation."
            + (
                ""
                if cold_class.instant_access
                else f" {th.cold_class} objects must be restored before any query can read "
                "them: use it only for data no query touches."
            )
        ),
        assumptions=(
            f"{th.warm_read_fraction:.0%} of warm and {th.cold_read_fraction:.0%} of cold "
            "bytes are read each month",
            f"data age from {facts.age_source}",
        ),
    )


def _lifecycle_command(facts: TableFacts, ctx: Context, days: dict[str, int]) -> str:
    """``aws s3api put-bucket-lifecycle-configuration`` for the table's prefix."""
    th = ctx.th
    if facts.location.startswith("s3://"):
        bucket, _, prefix = facts.location[len("s3://") :].partition("/")
    else:
        bucket, prefix = "<bucket>", facts.name
    prefix = prefix.rstrip("/") + ("/data/" if facts.format == "iceberg" else "/")
    min_size = max(ctx.prices.storage(th.warm_class).min_object_kb * 1024 - 1, 0)
    rule = {
        "Rules": [
            {
                "ID": f"duckpipe-tiering-{facts.name.replace('/', '-')}",
                "Status": "Enabled",
                "Filter": {"And": {"Prefix": prefix, "ObjectSizeGreaterThan": min_size}},
                "Transitions": [
                    {"Days": days["warm"], "StorageClass": S3_CLASS_NAMES[th.warm_class]},
                    {"Days": days["cold"], "StorageClass": S3_CLASS_NAMES[th.cold_class]},
                ],
            }
        ]
    }
    return shlex.join(
        [
            "aws",
            "s3api",
            "put-bucket-lifecycle-configuration",
            "--bucket",
            bucket,
            "--lifecycle-configuration",
            json.dumps(rule, separators=(",", ":")),
        ]
    )
