"""SodaCL quality checks and the publish gate (write-audit-publish).

soda-core runs the checks in ``checks/*.yml`` against DuckDB. ``audit`` gates a
stage's publish on its staged data; ``check_project`` runs the checks alone on
current data (``duckpipe check``); ``DataQualityFramework`` validates a data frame.
Heavy imports (soda-core, DuckDB, Arrow) happen inside the functions.
"""

from __future__ import annotations

import importlib
from typing import Any

from duckpipe.quality.gate import AuditResult, audit

# public name -> module, imported on first use
_LAZY = {
    "CheckResult": "duckpipe.quality.results",
    "ChecksRun": "duckpipe.quality.checker",
    "run_checks": "duckpipe.quality.checker",
    "check_project": "duckpipe.quality.project_check",
    "CheckReport": "duckpipe.quality.project_check",
    "DataQualityFramework": "duckpipe.quality.framework",
    "ValidationResult": "duckpipe.quality.framework",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'duckpipe.quality' has no attribute '{name}'")
    return getattr(importlib.import_module(module), name)


__all__ = ["AuditResult", "audit", *_LAZY]
