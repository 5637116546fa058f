"""Model dependencies from the SQL itself, and the run order."""

from __future__ import annotations

import re
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

from duckpipe.errors import ProjectError
from duckpipe.plan import ModelStep, SeedStep

if TYPE_CHECKING:
    from duckpipe.plan import RunOptions
    from duckpipe.project import Project

_REF = re.compile(r"\{\{\s*ref\(\s*['\"](\w+)['\"]\s*\)\s*\}\}")


def render(sql: str) -> str:
    """Resolve ``{{ ref('x') }}`` to the plain name ``x``."""
    return _REF.sub(lambda m: m.group(1), sql)


def references(sql: str) -> set[str]:
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(render(sql), dialect="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name not in ctes}


def plan_models(project: Project, options: RunOptions) -> list[SeedStep | ModelStep]:
    steps: list[SeedStep | ModelStep] = [
        SeedStep(name, str(path)) for name, path in project.seeds.items()
    ]
    graph: dict[str, set[str]] = {}
    for name, model in project.models.items():
        graph[name] = {r for r in references(model.sql) if r in project.models}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise ProjectError(f"models form a cycle: {' -> '.join(exc.args[1])}") from None
    defaults = project.config.models.defaults
    for name in order:
        model = project.models[name]
        folder = model.path.parent.name
        override = project.config.models.paths.get(folder)
        materialized = (override and override.materialized) or defaults.materialized or "view"
        steps.append(ModelStep(name, str(model.path), materialized, tuple(sorted(graph[name]))))
    return steps
