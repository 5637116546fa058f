"""SodaCL quality checks and the publish gate (write-audit-publish).

soda-core runs the checks in ``checks/*.yml`` against DuckDB. ``audit`` gates a
stage's publish on its staged data; ``check_project`` runs the checks alone on
current data (``duckpipe check``); ``DataQualityFramework`` validates a data frame.
soda-core, DuckDB and Arrow are imported only when checks run.
"""

from __future__ import annotations

from duckpipe.quality.checker import ChecksRun, run_checks
from duckpipe.quality.framework import DataQualityFramework, ValidationResult
from duckpipe.quality.gate import AuditResult, audit
from duckpipe.quality.project_check import CheckReport, check_project
from duckpipe.quality.results import CheckResult

__all__ = [
    "AuditResult",
    "CheckReport",
    "CheckResult",
    "ChecksRun",
    "DataQualityFramework",
    "ValidationResult",
    "audit",
    "check_project",
    "run_checks",
]
