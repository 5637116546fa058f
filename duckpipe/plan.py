"""Project + stored positions -> a Plan. Pure: nothing here reads data or writes anything.

``duckpipe run --dry-run`` prints the same Plan that ``duckpipe run`` executes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from duckpipe.project import landed_table

if TYPE_CHECKING:
    from duckpipe.config import SourceConfig
    from duckpipe.project import Project
    from duckpipe.sources.base import ExtractRange


@dataclass(frozen=True)
class RunOptions:
    """What the user asked for on the command line."""

    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    full_refresh: bool = False
    dry_run: bool = False
    skip_checks: bool = False


@dataclass(frozen=True)
class SourceStep:
    """Extract a source, validate it against its contract and land it as ``table``."""

    name: str
    config: SourceConfig
    table: str
    extract: ExtractRange
    kind: str = "source"

    @property
    def key(self) -> str:
        """How models name this step in ``depends_on`` (sources and models may share names)."""
        return f"source:{self.name}"

    def describe(self) -> str:
        return f"land {self.name} -> {self.table} ({self.extract.description})"


@dataclass(frozen=True)
class SeedStep:
    """Load a ``seeds/*.csv`` file as a table."""

    name: str
    path: str
    config: dict[str, Any] = field(default_factory=dict)
    kind: str = "seed"

    def describe(self) -> str:
        return f"seed {self.name} <- {self.path}"


@dataclass(frozen=True)
class ModelStep:
    """Build one SQL model with its materialization."""

    name: str
    path: str
    materialized: str
    depends_on: tuple[str, ...] = ()
    compiled_path: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    kind: str = "model"

    def describe(self) -> str:
        deps = f" after {', '.join(self.depends_on)}" if self.depends_on else ""
        compiled = f" [{self.compiled_path}]" if self.compiled_path else ""
        how = self.materialized
        if how == "incremental":
            keys = self.config.get("unique_key") or []
            how += f" ({self.config.get('incremental_strategy')}{' on ' + ', '.join(keys) if keys else ''})"
        return f"model {self.name} as {how}{deps}{compiled}"


Step = SourceStep | SeedStep | ModelStep


@dataclass(frozen=True)
class Plan:
    """The ordered steps of one run."""

    project: str
    steps: tuple[Step, ...]
    options: RunOptions = RunOptions()

    def describe(self) -> list[str]:
        return [f"{i + 1:>3}. {step.describe()}" for i, step in enumerate(self.steps)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "steps": [
                {"kind": s.kind, "name": s.name, "description": s.describe()} for s in self.steps
            ],
        }


def build_plan(
    project: Project,
    extract_ranges: dict[str, ExtractRange],
    options: RunOptions = RunOptions(),
) -> Plan:
    """Order the run: sources (batch ones only), then seeds and models in dependency order.

    ``extract_ranges`` come from each source's ``plan()`` over its stored position.
    """
    from duckpipe.transform import plan_models, selected_sources

    steps: list[Step] = []
    chosen = selected_sources(project, options)
    for name, cfg in project.config.sources.items():
        if cfg.resolved_type() == "kafka" or name not in extract_ranges or name not in chosen:
            continue
        steps.append(SourceStep(name, cfg, landed_table(name, cfg), extract_ranges[name]))
    steps.extend(plan_models(project, options))
    return Plan(project=project.config.name, steps=tuple(steps), options=options)
