"""Compile a model to the SQL DuckDB runs: Jinja rendered, ephemeral models inlined as CTEs.

The result keeps a source map (compiled line -> file and line) for error messages and is
written to ``target/compiled/<model path>`` as dbt does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from duckpipe.core.errors import ModelError
from duckpipe.transform.diagnostics import SourceMap
from duckpipe.transform.graph import EPHEMERAL_PREFIX, compiled_path, project_graph
from duckpipe.transform.steps import plan_models

if TYPE_CHECKING:
    from collections.abc import Callable

    from duckpipe.plan import RunOptions
    from duckpipe.project import Project
    from duckpipe.transform.graph import ProjectGraph
    from duckpipe.transform.render import Rendered


@dataclass(frozen=True)
class Compiled:
    """One model's executable SQL and where each of its lines came from."""

    name: str
    path: str
    sql: str
    source_map: SourceMap
    incremental: bool = False


def compile_model(graph: ProjectGraph, name: str, *, incremental: bool = False) -> Compiled:
    """Render ``name`` and inline the ephemeral models it reads, nearest dependencies first."""
    node = graph.models[name]
    if node.error is not None:
        raise node.error
    rendered = graph.render(name, incremental=incremental)
    body = _lines(rendered, node.path)
    upstream = _ephemeral_upstream(graph, name)
    rendered_ephemerals = {}
    plain_names = _plain_names(rendered.sql) if upstream else set()
    for eph in upstream:
        error = graph.models[eph].error
        if error is not None:
            raise error
        rendered_ephemerals[eph] = graph.render(eph)
        plain_names |= _plain_names(rendered_ephemerals[eph].sql)
    ctes: list[tuple[str, list[tuple[str, tuple[str, int]]]]] = []
    for eph in upstream:
        eph_lines = _lines(rendered_ephemerals[eph], graph.models[eph].path)
        ctes.append((EPHEMERAL_PREFIX + eph, eph_lines))
        if eph.lower() in plain_names:  # read by its plain name, not through ref()
            alias = [(f"select * from {EPHEMERAL_PREFIX}{eph}", eph_lines[0][1])]
            ctes.append((f'"{eph}"', alias))
    lines = _inject(body, ctes) if ctes else body
    sql = "\n".join(text for text, _ in lines)
    return Compiled(name, node.path, sql, SourceMap(tuple(o for _, o in lines)), incremental)


def write_compiled(root: Path, compiled: Compiled) -> Path:
    target = root / compiled_path(compiled.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(compiled.sql + "\n")
    return target


def _lines(rendered: Rendered, path: str) -> list[tuple[str, tuple[str, int]]]:
    """Rendered SQL as (text, origin) lines, without blank lines around it or a final semicolon."""
    lines = [
        (text, (path, line))
        for text, line in zip(rendered.sql.split("\n"), rendered.lines, strict=False)
    ]
    while lines and not lines[-1][0].strip():
        lines.pop()
    while lines and not lines[0][0].strip():
        lines.pop(0)
    if lines:
        text, origin = lines[-1]
        lines[-1] = (text.rstrip().rstrip(";").rstrip(), origin)
    if not any(text.strip() for text, _ in lines):
        raise ModelError(
            "the model renders to no SQL", where=f"{path}:1", hint="a model is one SELECT"
        )
    return lines


def _plain_names(sql: str) -> set[str]:
    from duckpipe.transform.sqlrefs import table_references

    return {ref.name.lower() for ref in table_references(sql)}


def _ephemeral_upstream(graph: ProjectGraph, name: str) -> list[str]:
    """Ephemeral models ``name`` reads directly or through other ephemerals, deepest first."""
    order: list[str] = []

    def visit(current: str, trail: tuple[str, ...]) -> None:
        for dep in sorted(graph.parents(current)):
            node = graph.models.get(dep)
            if node is None or node.materialized != "ephemeral" or dep in order or dep in trail:
                continue
            visit(dep, (*trail, dep))
            order.append(dep)

    visit(name, (name,))
    return order


def _inject(
    body: list[tuple[str, tuple[str, int]]],
    ctes: list[tuple[str, list[tuple[str, tuple[str, int]]]]],
) -> list[tuple[str, tuple[str, int]]]:
    """Put the CTEs in front of ``body``, merging with its own WITH clause when it has one."""
    block: list[tuple[str, tuple[str, int]]] = []
    for i, (cte_name, lines) in enumerate(ctes):
        block.append((f"{cte_name} as (", lines[0][1]))
        block.extend(lines)
        block.append((")" + ("," if i < len(ctes) - 1 else ""), lines[-1][1]))
    split = _with_keyword_end(body)
    if split is None:
        return [("with " + block[0][0], block[0][1]), *block[1:], *body]
    row, col = split
    text, origin = body[row]
    block[0] = (f"{text[:col]} {block[0][0]}", block[0][1])
    block[-1] = (block[-1][0] + ",", block[-1][1])
    rest = [(text[col:].lstrip(), origin)] if text[col:].strip() else []
    return [*body[:row], *block, *rest, *body[row + 1 :]]


def _with_keyword_end(body: list[tuple[str, tuple[str, int]]]) -> tuple[int, int] | None:
    """(line index, column) just after a leading ``WITH`` / ``WITH RECURSIVE``, if the SQL starts so."""
    from sqlglot.errors import TokenError
    from sqlglot.tokens import Tokenizer

    sql = "\n".join(text for text, _ in body)
    try:
        tokens = Tokenizer(dialect="duckdb").tokenize(sql)
    except TokenError:
        return None
    if not tokens or tokens[0].text.lower() != "with":
        return None
    end = tokens[0]
    if len(tokens) > 1 and tokens[1].text.lower() == "recursive":
        end = tokens[1]
    offset = end.end + 1
    row = sql.count("\n", 0, offset)
    col = offset - (sql.rfind("\n", 0, offset) + 1)
    return row, col


@dataclass(frozen=True)
class CompileOutcome:
    """One model of ``duckpipe compile``: where its SQL was written, or why it failed."""

    name: str
    materialized: str
    path: str | None
    error: str | None = None


def compile_project(
    project: Project, options: RunOptions, *, exists: Callable[[str], bool] = lambda _: False
) -> list[CompileOutcome]:
    """Compile the selected models to ``target/compiled``; ``exists`` says which lake tables do
    (``is_incremental()`` is true for an incremental model whose table exists)."""
    from duckpipe.core.errors import DuckpipeError
    from duckpipe.plan import ModelStep

    graph = project_graph(project)
    outcomes = []
    for step in plan_models(project, options):
        if not isinstance(step, ModelStep):
            continue
        incremental = (
            step.materialized == "incremental" and not options.full_refresh and exists(step.name)
        )
        try:
            compiled = compile_model(graph, step.name, incremental=incremental)
            written = write_compiled(project.root, compiled)
        except DuckpipeError as exc:
            outcomes.append(CompileOutcome(step.name, step.materialized, None, str(exc)))
            continue
        rel = str(written.relative_to(project.root))
        outcomes.append(CompileOutcome(step.name, step.materialized, rel))
    return outcomes
