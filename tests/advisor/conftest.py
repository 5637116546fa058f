"""Fixtures for the cost advisor: a fixed clock and scaled thresholds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from duckpipe.advisor import Finding, Prices, Report, load_prices
from duckpipe.advisor.facts import TableFacts

# The test lakes are kilobytes: every saving they show is below the default materiality
# ($1/month, 1% of the lake's cost). Tests of a rule's arithmetic turn materiality off.
NO_MATERIALITY: dict[str, Any] = {"min_monthly_usd": 0, "min_monthly_share": 0}
NO_MATERIALITY_PRICES = load_prices(("test thresholds", {"thresholds": NO_MATERIALITY}))


@pytest.fixture
def prices() -> Callable[..., Prices]:
    """Default prices with some thresholds overridden, as a prices file would; materiality
    off unless a test passes it."""

    def make(**thresholds: Any) -> Prices:
        merged = {**NO_MATERIALITY, **thresholds}
        return load_prices(("test thresholds", {"thresholds": merged}))

    return make


def only(report: Report, rule: str, table: str | None = None) -> Finding:
    """The one finding of ``rule`` (for ``table``); fails listing what was found instead."""
    found = [f for f in report.findings if f.rule == rule and (table is None or f.table == table)]
    assert len(found) == 1, (
        f"expected one {rule}, got {[(f.rule, f.table) for f in report.findings]}"
    )
    return found[0]


def totals(facts: TableFacts) -> tuple[str, int, int, int | None]:
    """Format, files, bytes and rows of a table, to compare with what a generator wrote."""
    return (facts.format, facts.file_count, facts.total_bytes, facts.total_rows)


def rules_of(report: Report) -> list[tuple[str, str | None]]:
    return sorted((f.rule, f.table) for f in report.findings)
