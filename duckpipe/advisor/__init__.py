"""The cost advisor: facts from a lake's metadata -> rules -> ranked advice in money.

>>> from duckpipe.advisor import analyze_lake, render
>>> report = analyze_lake("./lake")                      # doctest: +SKIP
>>> print(render(report, "json"))                        # doctest: +SKIP
"""

from duckpipe.advisor.analyze import analyze_lake
from duckpipe.advisor.findings import Finding
from duckpipe.advisor.prices import Prices, Thresholds, default_prices, load_prices
from duckpipe.advisor.report import Report, report_schema
from duckpipe.advisor.rules import RULES, Context, run_rules

__all__ = [
    "RULES",
    "Context",
    "Finding",
    "Prices",
    "Report",
    "Thresholds",
    "analyze_lake",
    "default_prices",
    "load_prices",
    "report_schema",
    "run_rules",
]
