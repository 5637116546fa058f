"""The project graph: every model rendered, configured and linked to what it reads.

Dependencies come from the SQL itself: ``ref()``/``source()`` calls and plain table
names (parsed with sqlglot) resolved against models, seeds, landed sources and stream
tables. Anything else is taken to be a lake table and checked when the model runs.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ModelError, ProjectError, did_you_mean
from duckpipe.transform.context import Relation
from duckpipe.transform.modelconfig import ModelConfig, folder_defaults, header_config
from duckpipe.transform.render import Rendered, Renderer
from duckpipe.transform.sources import SourceCatalog
from duckpipe.transform.sqlrefs import SqlSyntaxError, table_references

if TYPE_CHECKING:
    from duckpipe.project import ModelFile, Project

EPHEMERAL_PREFIX = "__dbt__cte__"
STAGED_PREFIX = "__duckpipe_staged__"  # a step's output before its checks pass
SOURCE_PREFIX = "source:"  # sources share no name space with models: "source:orders"
COMPILED_DIR = PurePosixPath("target/compiled")


@dataclass
class ModelNode:
    """One enabled model: its config, what it depends on (and on which line), any SQL error."""

    name: str
    path: str
    sql: str
    config: ModelConfig
    depends_on: dict[str, int] = field(default_factory=dict)
    externals: dict[str, int] = field(default_factory=dict)
    error: ModelError | None = None

    @property
    def materialized(self) -> str:
        return self.config.materialized


@dataclass
class ProjectGraph:
    """Models, seeds and sources of a project, with the edges between them."""

    project: Project
    renderer: Renderer
    models: dict[str, ModelNode]
    seeds: dict[str, str]
    sources: SourceCatalog
    order: list[str] = field(default_factory=list)

    def parents(self, name: str) -> set[str]:
        node = self.models.get(name)
        return set(node.depends_on) if node else set()

    def children(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for node in self.models.values():
            for parent in node.depends_on:
                out.setdefault(parent, set()).add(node.name)
        return out

    def files(self) -> dict[str, str]:
        return {node.path: node.sql for node in self.models.values()}

    def render(self, name: str, *, incremental: bool = False) -> Rendered:
        """Render a model for execution: refs to ephemeral models name their inlined CTE."""
        node = self.models[name]

        def ref(target: str, line: int) -> Relation:
            self._check_ref(node, target, line)
            if target in self.models and self.models[target].materialized == "ephemeral":
                return Relation(EPHEMERAL_PREFIX + target, quoted=False)
            return Relation(target)

        return self._render(node, incremental, ref)

    def _render(self, node: ModelNode, incremental: bool, ref: Any) -> Rendered:
        return self.renderer.render(
            node.path,
            node.sql,
            model=node.name,
            incremental=incremental,
            vars=self.project.config.vars,
            ref=ref,
            source_table=lambda src, table, line: Relation(
                self.sources.resolve(src, table, f"{node.path}:{line}")
            ),
        )

    def _check_ref(self, node: ModelNode, target: str, line: int) -> None:
        if target in self.models or target in self.seeds:
            return
        where = f"{node.path}:{line}"
        if target in self.project.models:
            raise ProjectError(
                f"ref('{target}') names a disabled model",
                where=where,
                hint="enable it or drop the ref",
            )
        known = [*self.project.models, *self.seeds]
        raise ProjectError(
            f"ref('{target}') names no model or seed",
            where=where,
            hint=did_you_mean(target, known) or f"models: {', '.join(sorted(known)) or 'none'}",
        )


_CACHE: dict[int, tuple[weakref.ref[Any], ProjectGraph]] = {}


def compiled_path(model_path: str) -> str:
    """Where the compiled SQL of ``models/x/y.sql`` is written, relative to the project."""
    return str(COMPILED_DIR / PurePosixPath(model_path))


def project_graph(project: Project) -> ProjectGraph:
    """The graph of ``project`` (built once per Project object)."""
    cached = _CACHE.get(id(project))
    if cached and cached[0]() is project:
        return cached[1]
    graph = build_graph(project)
    _CACHE[id(project)] = (weakref.ref(project), graph)
    return graph


def build_graph(project: Project) -> ProjectGraph:
    """Render every model, read its config, resolve its references, order the graph."""
    renderer = Renderer(project.root, threads=project.config.models.concurrency)
    graph = ProjectGraph(
        project=project,
        renderer=renderer,
        models={},
        seeds={name: str(PurePosixPath(path)) for name, path in project.seeds.items()},
        sources=SourceCatalog.of(project),
    )
    rendered: dict[str, tuple[Rendered, Rendered]] = {}
    for name, model in project.models.items():
        node = ModelNode(name, str(PurePosixPath(model.path)), model.sql, ModelConfig())
        both = (_first_pass(graph, node, False), _first_pass(graph, node, True))
        node.config = _configure(project, model, both[0])
        if node.config.enabled:
            graph.models[name] = node
            rendered[name] = both
    for name, (plain, incremental) in rendered.items():
        _link(graph, graph.models[name], plain, incremental)
    graph.order = _topological(graph)
    return graph


def _first_pass(graph: ProjectGraph, node: ModelNode, incremental: bool) -> Rendered:
    """Render with every ref as a plain name (materializations are not known yet)."""

    def ref(target: str, line: int) -> Relation:
        if target not in graph.project.models and target not in graph.seeds:
            graph._check_ref(node, target, line)
        return Relation(target)

    return graph._render(node, incremental, ref)


def _configure(project: Project, model: ModelFile, rendered: Rendered) -> ModelConfig:
    path = str(PurePosixPath(model.path))
    config = ModelConfig()
    for where, values in folder_defaults(project.config.models, PurePosixPath(model.path)):
        config.update(values, where)
    values, lines = header_config(model.sql, path)
    for key, value in values.items():
        config.update({key: value}, f"{path}:{lines[key]}")
    for call, line in rendered.config:
        config.update(call, f"{path}:{line}")
    config.check(path)
    return config


def _link(graph: ProjectGraph, node: ModelNode, *passes: Rendered) -> None:
    """Dependencies from ref()/source() calls and from the table names in the SQL."""
    landed = graph.sources.landed
    unique = {r.sql: r for r in passes}  # without is_incremental() branches both are the same
    for rendered in unique.values():
        for target, line in rendered.refs:
            graph._check_ref(node, target, line)
            if target != node.name:
                node.depends_on.setdefault(target, line)
        for src, table, line in rendered.sources:
            resolved = graph.sources.resolve(src, table, f"{node.path}:{line}")
            if resolved.lower() in landed:
                node.depends_on.setdefault(SOURCE_PREFIX + landed[resolved.lower()], line)
        try:
            references = table_references(rendered.sql)
        except SqlSyntaxError as exc:
            path, line = node.path, rendered.lines[min(exc.line, len(rendered.lines)) - 1]
            node.error = ModelError(f"SQL syntax error: {exc}", where=f"{path}:{line}")
            continue
        by_lower = {n.lower(): n for n in [*graph.models, *graph.seeds]}
        for ref in references:
            key, line = ref.name.lower(), rendered.lines[min(ref.line, len(rendered.lines)) - 1]
            if key == node.name.lower() or key.startswith(EPHEMERAL_PREFIX):
                continue
            if key in by_lower:
                node.depends_on.setdefault(by_lower[key], line)
            elif key in landed:
                node.depends_on.setdefault(SOURCE_PREFIX + landed[key], line)
            else:
                node.externals.setdefault(ref.name, line)


def _topological(graph: ProjectGraph) -> list[str]:
    """Models in dependency order: by depth in the graph, then by file path (a stable order)."""
    pending = {
        n: {d for d in node.depends_on if d in graph.models} for n, node in graph.models.items()
    }
    children = graph.children()
    level = {n: 0 for n, deps in pending.items() if not deps}
    ready = list(level)
    while ready:
        name = ready.pop()
        for child in children.get(name, ()):
            pending[child].discard(name)
            level[child] = max(level.get(child, 0), level[name] + 1)
            if not pending[child]:
                ready.append(child)
    stuck = {n for n, deps in pending.items() if deps}
    if stuck:
        raise _cycle_error(graph, stuck)
    return sorted(graph.models, key=lambda n: (level[n], graph.models[n].path))


def _cycle_error(graph: ProjectGraph, stuck: set[str]) -> ProjectError:
    """Name one cycle among ``stuck`` models, with the file and line of each reference."""
    start = min(stuck)
    path = [start]
    seen = {start: 0}
    current = start
    while True:
        current = min(d for d in graph.models[current].depends_on if d in stuck)
        if current in seen:
            cycle = [*path[seen[current] :], current]
            break
        seen[current] = len(path)
        path.append(current)
    steps = []
    for a, b in itertools.pairwise(cycle):
        node = graph.models[a]
        steps.append(f"{a} reads {b} ({node.path}:{node.depends_on[b]})")
    first = graph.models[cycle[0]]
    return ProjectError(
        f"models form a cycle: {' -> '.join(cycle)}; " + "; ".join(steps),
        where=f"{first.path}:{first.depends_on[cycle[1]]}",
        hint="remove one of these references (an incremental model reads itself with {{ this }})",
    )
