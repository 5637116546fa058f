"""The cost report as data, and its JSON form (schema: ``report.schema.json``).

The JSON layout is stable: fields are only ever added, and ``schema_version``
changes when a field changes meaning or goes away.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from duckpipe.advisor.facts import TableFacts, age_tiers, size_histogram
from duckpipe.advisor.findings import SEVERITIES, Finding, Severity, at_least
from duckpipe.advisor.prices import Prices

SCHEMA_VERSION = "1"
SCHEMA_FILE = "report.schema.json"
MAX_PARTITIONS_LISTED = 200


@dataclass(frozen=True)
class Report:
    """What ``duckpipe cost-report`` found."""

    path: str
    generated_at: float
    tables: list[TableFacts]
    findings: list[Finding]
    prices: Prices
    project: str | None = None
    scan_seconds: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)
    below_materiality: int = 0  # priced findings dropped as not worth acting on
    lake_monthly_usd: float = 0.0  # the lake's estimated monthly cost the share is taken of

    @property
    def materiality_usd(self) -> float:
        """The monthly saving a priced finding must reach: the floor or the share, the larger."""
        return self.prices.thresholds.materiality_usd(self.lake_monthly_usd)

    @property
    def monthly_usd(self) -> float:
        return sum(f.monthly_usd for f in self.findings)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def failing(self, level: Severity) -> list[Finding]:
        """Findings at ``level`` or more severe (``--fail-on``)."""
        return [f for f in self.findings if at_least(f.severity, level)]

    def findings_for(self, table: str | None) -> list[Finding]:
        return [f for f in self.findings if f.table == table]

    def summary(self) -> dict[str, Any]:
        return {
            "tables": len(self.tables),
            "files": sum(t.file_count for t in self.tables),
            "bytes": sum(t.total_bytes for t in self.tables),
            "findings": len(self.findings),
            "by_severity": {s: self.count(s) for s in SEVERITIES},
            "monthly_usd": round(self.monthly_usd, 4),
            "monthly_storage_usd": round(
                sum(t.total_bytes for t in self.tables) * self.prices.usd_per_byte_month(), 4
            ),
            "below_materiality": {
                "findings": self.below_materiality,
                "min_monthly_usd": self.prices.thresholds.min_monthly_usd,
                "min_monthly_share": self.prices.thresholds.min_monthly_share,
                "lake_monthly_usd": round(self.lake_monthly_usd, 4),
                "materiality_usd": round(self.materiality_usd, 4),
            },
        }

    def table_dict(self, facts: TableFacts) -> dict[str, Any]:
        th = self.prices.thresholds
        parts = facts.partitions()
        gone = facts.unreferenced
        rg = facts.row_groups
        return {
            "name": facts.name,
            "format": facts.format,
            "location": facts.location,
            "files": facts.file_count,
            "bytes": facts.total_bytes,
            "rows": facts.total_rows,
            "rows_estimated": facts.rows_estimated,
            "partition_scheme": facts.scheme.describe(),
            "partitions": len(parts) if facts.partitioned else 0,
            "median_file_bytes": facts.median_file_bytes(),
            "median_partition_bytes": int(statistics.median(p.bytes for p in parts))
            if parts
            else 0,
            "largest_partition_bytes": parts[0].bytes if parts else 0,
            "versions": facts.versions,
            "unreferenced": {
                "files": gone.files,
                "bytes": gone.bytes,
                "freeable_files": gone.freeable_files,
                "freeable_bytes": gone.freeable_bytes,
                "retain_hours": gone.retain_hours,
            },
            "row_groups": {
                "files_sampled": rg.files_sampled,
                "row_groups": rg.row_groups,
                "median_bytes": rg.median_bytes,
                "min_bytes": rg.min_bytes,
                "max_bytes": rg.max_bytes,
            },
            "age_source": facts.age_source,
            "age_tiers": age_tiers(
                facts.files, self.generated_at, th.warm_after_days, th.cold_after_days
            ),
            "file_size_histogram": size_histogram(facts.files),
            "partition_sizes": [
                {"key": p.key, "files": p.files, "bytes": p.bytes, "rows": p.rows}
                for p in parts[:MAX_PARTITIONS_LISTED]
            ]
            if facts.partitioned
            else [],
            "clustering": {c: round(d, 3) for c, d in facts.clustering.items()},
            "findings": len(self.findings_for(facts.name)),
        }

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, matching ``report.schema.json``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "generated_at": datetime.fromtimestamp(self.generated_at, UTC).isoformat(),
            "path": self.path,
            "project": self.project,
            "scan_seconds": round(self.scan_seconds, 3),
            "summary": self.summary(),
            "prices": self.prices.describe(),
            "tables": [self.table_dict(t) for t in self.tables],
            "findings": [f.to_dict() for f in self.findings],
            "warnings": list(self.warnings),
        }


def report_schema() -> dict[str, Any]:
    """The JSON Schema of ``Report.to_dict()``."""
    import json

    text = resources.files("duckpipe.advisor").joinpath(SCHEMA_FILE).read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema
