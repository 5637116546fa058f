"""Check results as duckpipe reports them: outcome, measured value, threshold, severity, failing rows.

Built from soda-core's Check objects after a scan; plain data from then on (the run
history, ``--format json`` and the Python API all use ``CheckResult.to_dict()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

ROW_CHECK_KINDS = ("missing", "invalid", "duplicate", "reference", "failed_rows")


@dataclass
class CheckResult:
    """The outcome of one SodaCL check on one dataset."""

    dataset: str
    name: str
    outcome: str  # pass | warn | fail
    value: float | int | None
    threshold: str | None  # e.g. "fail when <= 0; warn when > 2"
    severity: str  # fail (can block a publish) | warn (reports only)
    # metric | missing | invalid | duplicate | reference | failed_rows | schema | freshness
    kind: str
    location: str  # checks/shop.yml:12
    column: str | None = None
    failed_rows: int | None = None  # rows a row-level check identified
    detail: str | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)  # failing rows, up to the limit
    failing_sql: str | None = field(default=None, repr=False)  # every failing row (quarantine)

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    @property
    def blocks(self) -> bool:
        return self.outcome == "fail"

    def to_dict(self) -> dict[str, Any]:
        """The result as stored in the run history (no row samples)."""
        return {
            "dataset": self.dataset,
            "name": self.name,
            "outcome": self.outcome,
            "value": self.value,
            "threshold": self.threshold,
            "severity": self.severity,
            "kind": self.kind,
            "column": self.column,
            "failed_rows": self.failed_rows,
            "location": self.location,
            "detail": self.detail,
        }

    def summary(self) -> str:
        """``missing_count(id) = 0 failed: value 3 (fail when > 0)``."""
        text = f"{self.name} {self.outcome}ed" if self.outcome != "pass" else f"{self.name} passed"
        if self.value is not None:
            text += f": value {_number(self.value)}"
        if self.threshold and not self.passed:
            text += f" ({self.threshold})"
        if self.detail and not self.passed:
            text += f" [{self.detail}]"
        return text


def from_soda(check: Any, dataset: str, where: str, samples: dict[str, Any]) -> CheckResult:
    """Convert one evaluated soda-core Check."""
    cfg = check.check_cfg
    kind = _kind(check)
    value = _value(check, kind)
    sample = _sample(check, samples)
    result = CheckResult(
        dataset=dataset,
        name=check.name,
        outcome=check.outcome.value,
        value=value,
        threshold=_threshold(cfg, kind),
        severity=_severity(cfg),
        kind=kind,
        location=where,
        column=getattr(check.column, "column_name", None),
        detail=_detail(check, kind),
    )
    if kind in ROW_CHECK_KINDS:
        result.failed_rows = 0 if result.passed else None  # counted exactly by the checker
        if not result.passed:
            result.failing_sql = _failing_sql(check, sample)
            if sample is not None:
                result.samples = [
                    dict(zip(sample.columns, row, strict=False)) for row in sample.rows
                ]
    return result


def _kind(check: Any) -> str:
    name = type(check).__name__
    if name == "MetricCheck":
        metric = check.check_cfg.metric_name
        for prefix in ("missing", "invalid", "duplicate"):
            if metric.startswith(prefix):
                return prefix
        return "metric"
    return {
        "ReferenceCheck": "reference",
        "UserDefinedFailedRowsCheck": "failed_rows",
        "UserDefinedFailedRowsExpressionCheck": "failed_rows",
        "SchemaCheck": "schema",
        "FreshnessCheck": "freshness",
    }.get(name, "metric")


def _value(check: Any, kind: str) -> float | int | None:
    if kind == "freshness":
        age = (getattr(check, "freshness_values", None) or {}).get("freshness")
        return round(age.total_seconds(), 3) if isinstance(age, timedelta) else None
    if kind == "schema":
        return sum(
            len(r.missing_column_names)
            + len(r.present_column_names)
            + len(r.column_type_mismatches)
            for r in (getattr(check, "fail_result", None), getattr(check, "warn_result", None))
            if r is not None
        )
    value = getattr(check, "check_value", None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None if value is None else _coerce(value)
    return value


def _coerce(value: Any) -> float | None:
    try:
        return float(value)  # Decimal from DuckDB sums and averages
    except (TypeError, ValueError):
        return None


def _related_queries(check: Any) -> list[Any]:
    return [q for metric in check.metrics.values() for q in getattr(metric, "queries", [])]


def _failing_sql(check: Any, sample: Any) -> str | None:
    """SQL selecting every failing row: soda's failing-rows query, or the user's own query."""
    for query in _related_queries(check):
        if getattr(query, "failing_sql", None):
            return str(query.failing_sql)
    if sample is not None and _kind(check) == "failed_rows":
        return str(sample.query)  # a failed-rows query or condition: soda adds no LIMIT
    return None


def _sample(check: Any, samples: dict[str, Any]) -> Any:
    for query in _related_queries(check):
        for sql in (query.sql, getattr(query, "failed_rows_sql", None)):
            if sql in samples:
                return samples[sql]
    return samples.get(f"check:{check.name}") if _kind(check) == "failed_rows" else None


def _severity(cfg: Any) -> str:
    fail = getattr(cfg, "fail_threshold_cfg", None) or getattr(
        cfg, "fail_freshness_threshold", None
    )
    warn = getattr(cfg, "warn_threshold_cfg", None) or getattr(
        cfg, "warn_freshness_threshold", None
    )
    if hasattr(cfg, "fail_validations"):
        fail, warn = cfg.fail_validations, cfg.warn_validations
    return "warn" if warn is not None and fail is None else "fail"


def _threshold(cfg: Any, kind: str) -> str | None:
    parts = []
    for severity in ("fail", "warn"):
        zone = getattr(cfg, f"{severity}_threshold_cfg", None)
        age = getattr(cfg, f"{severity}_freshness_threshold", None)
        if zone is not None:
            parts.append(f"{severity} when {bad_zone(zone)}")
        elif age is not None:
            parts.append(f"{severity} when older than {age}")
    if not parts and kind in ("reference", "failed_rows"):
        parts.append("fail when > 0 rows")
    return "; ".join(parts) or None


def bad_zone(zone: Any) -> str:
    """A soda ThresholdCfg (the failing zone) as text: ``<= 0``, ``< 0 or > 10``."""
    lower_first = (("<", "lt"), ("<=", "lte"), (">", "gt"), (">=", "gte"))
    if not zone.is_split_zone:
        lower_first = ((">=", "gte"), (">", "gt"), ("<", "lt"), ("<=", "lte"))
    bounds = [(op, getattr(zone, a)) for op, a in lower_first if getattr(zone, a) is not None]
    if zone.is_split_zone and zone.gt is not None and zone.gt == zone.lt:
        return f"!= {_number(zone.gt)}"
    joiner = " or " if zone.is_split_zone else " and "
    return joiner.join(f"{op} {_number(v)}" for op, v in bounds)


def _detail(check: Any, kind: str) -> str | None:
    if kind == "schema":
        parts = []
        for result in (getattr(check, "fail_result", None), getattr(check, "warn_result", None)):
            if result is None:
                continue
            if result.missing_column_names:
                parts.append("missing columns: " + ", ".join(result.missing_column_names))
            if result.present_column_names:
                parts.append("forbidden columns: " + ", ".join(result.present_column_names))
            for column, mismatch in result.column_type_mismatches.items():
                parts.append(
                    f"{column} is {mismatch['actual_type']}, expected {mismatch['expected_type']}"
                )
        return "; ".join(parts) or None
    if kind == "freshness":
        values = getattr(check, "freshness_values", None) or {}
        if values.get("max_column_timestamp") is None:
            return "no timestamps: the column is empty or all null"
        return f"newest {values['max_column_timestamp']}, now {values.get('now_timestamp')}"
    return None


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
