"""The cost advisor's rules: small pure functions over facts, run in this order.

A rule takes every table's facts and a ``Context`` (prices, the time, the
project's usage) and yields ``Finding``s. Rules over one table are written for a
single ``TableFacts`` and lifted with ``per_table``. To add a rule, write the
function and append it to ``RULES``.
"""

from __future__ import annotations

from duckpipe.advisor.facts import TableFacts
from duckpipe.advisor.findings import Finding, rank
from duckpipe.advisor.rules.base import Context, LakeRule, per_table
from duckpipe.advisor.rules.compute import compute_advice
from duckpipe.advisor.rules.files import oversized_files, small_files
from duckpipe.advisor.rules.layout import clustering_candidate, unfiltered_partition_scan
from duckpipe.advisor.rules.lifecycle import lifecycle_tiering
from duckpipe.advisor.rules.partitions import (
    over_partitioning,
    partition_skew,
    under_partitioning,
)
from duckpipe.advisor.rules.versions import version_bloat

RULES: list[LakeRule] = [
    small_files,
    oversized_files,
    over_partitioning,
    under_partitioning,
    partition_skew,
    lifecycle_tiering,
    version_bloat,
    unfiltered_partition_scan,
    clustering_candidate,
    compute_advice,
]


def run_rules(
    tables: list[TableFacts], ctx: Context, rules: list[LakeRule] | None = None
) -> list[Finding]:
    """Every finding of ``rules`` (default ``RULES``), most severe and costly first."""
    findings: list[Finding] = []
    for rule in RULES if rules is None else rules:
        findings.extend(rule(tables, ctx))
    return rank(findings)


__all__ = ["RULES", "Context", "LakeRule", "per_table", "run_rules"]
