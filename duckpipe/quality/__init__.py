"""SodaCL quality checks and the publish gate (write-audit-publish)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from duckpipe.runner import RunContext


@dataclass
class AuditResult:
    """The checks run on a staged dataset; ``passed`` is False when a ``fail`` check failed."""

    dataset: str
    passed: bool = True
    checks: list[dict[str, Any]] = field(default_factory=list)


def audit(ctx: RunContext, dataset: str, staged_relation: str) -> AuditResult:
    """Run the project's checks for ``dataset`` against ``staged_relation`` (a DuckDB name).

    Called by every stage before it publishes; a failed result blocks the publish.
    """
    return AuditResult(dataset)


__all__ = ["AuditResult", "audit"]
