"""Entry points the runner and ``duckpipe query`` call: build one model, attach a project."""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.core.errors import DuckpipeError, ModelError
from duckpipe.transform.graph import project_graph

if TYPE_CHECKING:
    from duckpipe.engine import Engine
    from duckpipe.plan import ModelStep
    from duckpipe.project import Project
    from duckpipe.runner import RunContext, StepResult


def build_model(ctx: RunContext, step: ModelStep) -> StepResult:
    """Compile, stage, audit and publish one model with its materialization."""
    from duckpipe.transform.execution import ModelBuild
    from duckpipe.transform.incremental import build_incremental
    from duckpipe.transform.materialize import build_ephemeral, build_table, build_view

    graph = project_graph(ctx.project)
    node = graph.models[step.name]
    materializations = {
        "view": build_view,
        "table": build_table,
        "incremental": build_incremental,
    }
    try:
        if node.materialized == "ephemeral":
            return build_ephemeral(graph, node.name)
        build = ModelBuild.prepare(ctx, graph, node)
        return materializations[node.materialized](build)
    except DuckpipeError:
        raise
    except Exception as exc:  # a lake or Arrow failure: still this model's failure
        raise ModelError(f"{type(exc).__name__}: {exc}", where=node.path) from exc


def attach_project(engine: Engine, project: Project) -> list[str]:
    """Make seeds and view models queryable in ``engine`` (lake tables are attached already).

    Returns the views that could not be defined (their upstream tables are not built yet).
    """
    from duckpipe.transform.execution import attach_other_formats, define_view
    from duckpipe.transform.seeds import register_seed

    graph = project_graph(project)
    for name in graph.seeds:
        register_seed(engine, project, name)
    attach_other_formats(engine, graph, list(graph.order))
    missing = []
    for name in graph.order:
        if graph.models[name].materialized != "view":
            continue
        try:
            define_view(engine, graph, name)
        except DuckpipeError:
            missing.append(name)
    return missing
