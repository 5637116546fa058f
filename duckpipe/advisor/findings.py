"""A finding: what is wrong, the numbers that show it, the money, and the fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")
Evidence = dict[str, int | float | str | bool | None]


@dataclass(frozen=True)
class Finding:
    """One piece of advice.

    ``monthly_usd`` is the estimated change in the monthly bill if the fix is
    applied (a saving is positive); ``assumptions`` names every guess behind it.
    """

    rule: str
    table: str | None  # None for project-wide advice (compute)
    severity: Severity
    title: str
    evidence: Evidence
    monthly_usd: float
    fix: str
    detail: str = ""
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["monthly_usd"] = round(self.monthly_usd, 4)
        data["assumptions"] = list(self.assumptions)
        return data


def rank(findings: list[Finding]) -> list[Finding]:
    """Most severe first; within a severity, most money first."""
    return sorted(
        findings,
        key=lambda f: (SEVERITIES.index(f.severity), -f.monthly_usd, f.table or "", f.rule),
    )


def material(findings: list[Finding], floor_usd: float) -> tuple[list[Finding], list[Finding]]:
    """``findings`` split into those worth acting on and those saving less than ``floor_usd``.

    Only priced findings are judged: one with no money estimate (its cost is
    query time or risk, ``monthly_usd == 0``) is kept.

    >>> f = Finding("r", None, "low", "t", {}, 0.0002, "fix")
    >>> [len(part) for part in material([f], 1.0)]
    [0, 1]
    """
    kept = [f for f in findings if f.monthly_usd == 0 or abs(f.monthly_usd) >= floor_usd]
    return kept, [f for f in findings if f not in kept]


def at_least(severity: Severity, level: Severity) -> bool:
    """True when ``severity`` is ``level`` or more severe."""
    return SEVERITIES.index(severity) <= SEVERITIES.index(level)


def severity_for_usd(usd: float) -> Severity:
    """Money-only findings: high from $100 a month, medium from $10."""
    if usd >= 100:
        return "high"
    if usd >= 10:
        return "medium"
    return "low"


def human_bytes(n: float | None) -> str:
    """Bytes for people, binary units.

    >>> human_bytes(1536)
    '1.5 KB'
    """
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PB"


def size_arg(n: int) -> str:
    """A size for a command line: ``512MB``, ``1GB``, or plain bytes when not round."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n % factor == 0:
            return f"{n // factor}{unit}"
    return str(n)


def usd(amount: float) -> str:
    """Money for people: two decimals, more for small amounts."""
    if amount == 0:
        return "$0"
    if abs(amount) < 0.01:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def format_value(key: str, value: int | float | str | bool | None) -> str:
    """An evidence value for people, by the unit its key names.

    >>> format_value("small_bytes", 2048), format_value("small_bytes_share", 0.5)
    ('2.0 KB', '50.0%')
    """
    if value is None:
        return "-"
    if isinstance(value, (bool, str)):
        return str(value)
    if key.endswith("_bytes") or key.endswith("_bytes_limit") or key == "bytes_per_run":
        return human_bytes(value)
    if key.endswith("_share") or key.endswith("_share_of_live") or key == "largest_share":
        return f"{value:.1%}"
    if key.endswith("_usd") or key.endswith("_usd_once") or "_usd_per_" in key:
        return usd(float(value))
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"
