"""Project -> the seed and model steps of a plan, in dependency order. Pure: reads files only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.plan import ModelStep, SeedStep
from duckpipe.transform.graph import SOURCE_PREFIX, compiled_path, project_graph
from duckpipe.transform.select import select_nodes

if TYPE_CHECKING:
    from duckpipe.plan import RunOptions
    from duckpipe.project import Project


def plan_models(project: Project, options: RunOptions) -> list[SeedStep | ModelStep]:
    """Seeds, then models in dependency order, limited to what ``options`` select.

    A model's ``depends_on`` names the seeds, models and sources (``source:<name>``) it
    reads, so the runner skips it when one of them failed.
    """
    graph = project_graph(project)
    chosen = select_nodes(graph, options.select, options.exclude)
    steps: list[SeedStep | ModelStep] = []
    for name, path in graph.seeds.items():
        if name in chosen:
            config = project.config.seeds.get(name)
            steps.append(SeedStep(name, path, config.model_dump() if config else {}))
    for name in graph.order:
        if name not in chosen:
            continue
        node = graph.models[name]
        compiled = None if node.materialized == "ephemeral" else compiled_path(node.path)
        steps.append(
            ModelStep(
                name,
                node.path,
                node.materialized,
                tuple(sorted(node.depends_on)),
                compiled,
                node.config.to_dict(),
            )
        )
    return steps


def selected_sources(project: Project, options: RunOptions) -> set[str]:
    """The duckpipe.yml sources a selection includes (all of them when nothing is selected)."""
    graph = project_graph(project)
    chosen = select_nodes(graph, options.select, options.exclude)
    return {n.removeprefix(SOURCE_PREFIX) for n in chosen if n.startswith(SOURCE_PREFIX)}
