"""SodaCL quality checks and the publish gate (write-audit-publish).

soda-core runs the checks in ``checks/*.yml`` against DuckDB. ``audit`` gates a
stage's publish on its staged data; ``DataQualityFramework`` validates a data frame.
``duckpipe check`` (checks alone on current data) is the use case in ``duckpipe.check``.
soda-core, DuckDB and Arrow are imported only when checks run.
"""

from __future__ import annotations

from duckpipe.quality.checker import ChecksRun, run_checks
from duckpipe.quality.framework import DataQualityFramework, ValidationResult
from duckpipe.quality.gate import AuditResult, PublishGate, audit
from duckpipe.quality.results import CheckResult

__all__ = [
    "AuditResult",
    "CheckResult",
    "ChecksRun",
    "DataQualityFramework",
    "PublishGate",
    "ValidationResult",
    "audit",
    "run_checks",
]
