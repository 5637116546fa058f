"""Node selection, dbt syntax: ``name``, ``name+``, ``+name``, ``2+name+1``, ``@name``,
``tag:x``, ``path:models/marts``, ``source:orders``, ``config.materialized:table``, wildcards.

Several ``-s`` values (or space-separated selectors) are a union; ``a,b`` is an intersection;
``--exclude`` removes what it selects.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from duckpipe.core.errors import ProjectError, did_you_mean
from duckpipe.transform.graph import SOURCE_PREFIX

if TYPE_CHECKING:
    from duckpipe.transform.graph import ProjectGraph

_SELECTOR = re.compile(r"^(?P<at>@)?(?:(?P<up>\d*)\+)?(?P<body>.+?)(?:\+(?P<down>\d*))?$")


def select_nodes(
    graph: ProjectGraph, select: Iterable[str], exclude: Iterable[str] = ()
) -> set[str]:
    """Names of the selected models and seeds, and ``source:<name>`` of the selected sources."""
    select, exclude = list(select), list(exclude)
    chosen = _union(graph, select) if select else set(_universe(graph))
    return chosen - _union(graph, exclude)


def _universe(graph: ProjectGraph) -> dict[str, str]:
    nodes = {name: "model" for name in graph.models}
    nodes.update({name: "seed" for name in graph.seeds})
    nodes.update({SOURCE_PREFIX + name: "source" for name in graph.sources.configured})
    return nodes


def _union(graph: ProjectGraph, values: list[str]) -> set[str]:
    chosen: set[str] = set()
    for value in values:
        for selector in value.split():
            parts = [_one(graph, part) for part in selector.split(",") if part]
            chosen |= set.intersection(*parts) if parts else set()
    return chosen


def _one(graph: ProjectGraph, selector: str) -> set[str]:
    match = _SELECTOR.match(selector.strip())
    if not match:
        raise ProjectError(f"cannot read selector '{selector}'", hint="see `duckpipe run --help`")
    base = _match_method(graph, match.group("body"), selector)
    chosen = set(base)
    if match.group("up") is not None:
        chosen |= _walk(base, _parents_of(graph), _depth(match.group("up")))
    if match.group("down") is not None or match.group("at"):
        below = _walk(base, graph.children(), _depth(match.group("down") or ""))
        chosen |= below
        if match.group("at"):
            chosen |= _walk(below, _parents_of(graph), None)
    return chosen


def _depth(text: str) -> int | None:
    return int(text) if text else None


def _parents_of(graph: ProjectGraph) -> dict[str, set[str]]:
    return {name: set(node.depends_on) for name, node in graph.models.items()}


def _walk(start: set[str], edges: dict[str, set[str]], depth: int | None) -> set[str]:
    seen: set[str] = set()
    frontier, level = set(start), 0
    while frontier and (depth is None or level < depth):
        frontier = {n for f in frontier for n in edges.get(f, ())} - seen - start
        seen |= frontier
        level += 1
    return seen


def _match_method(graph: ProjectGraph, body: str, selector: str) -> set[str]:
    universe = _universe(graph)
    method, sep, value = body.partition(":")
    if not sep:
        method, value = "name", body
    if method == "name":
        found = {n for n in universe if fnmatch.fnmatchcase(n, value)}
        if not found:  # a bare source name: `-s orders+` when no model is called orders
            found = {n for n in universe if fnmatch.fnmatchcase(n, SOURCE_PREFIX + value)}
        return _nonempty(found, selector, value, [n.removeprefix(SOURCE_PREFIX) for n in universe])
    if method == "tag":
        tags = {t for node in graph.models.values() for t in node.config.tags}
        found = {
            n
            for n, node in graph.models.items()
            if any(fnmatch.fnmatchcase(t, value) for t in node.config.tags)
        }
        return _nonempty(found, selector, value, tags)
    if method == "path":
        return _nonempty(
            _by_path(graph, value), selector, value, [m.path for m in graph.models.values()]
        )
    if method == "source":
        source = value.split(".")[-1] if value not in graph.sources.configured else value
        found = {
            SOURCE_PREFIX + n for n in graph.sources.configured if fnmatch.fnmatchcase(n, source)
        }
        return _nonempty(found, selector, value, graph.sources.configured)
    if method == "config.materialized":
        return {n for n, node in graph.models.items() if node.materialized == value}
    if method in ("resource_type", "kind"):
        return {n for n, kind in universe.items() if kind == value}
    methods = ["tag", "path", "source", "config.materialized", "resource_type"]
    raise ProjectError(
        f"unknown selector method '{method}' in '{selector}'",
        hint=did_you_mean(method, methods) or f"methods: {', '.join(methods)}",
    )


def _by_path(graph: ProjectGraph, value: str) -> set[str]:
    wanted = PurePosixPath(value.strip("/")).parts
    found = set()
    for name, node in graph.models.items():
        parts = PurePosixPath(node.path).parts
        for candidate in (parts, parts[1:]):
            if candidate[: len(wanted)] == wanted or fnmatch.fnmatchcase(
                "/".join(candidate), value
            ):
                found.add(name)
    for name, path in graph.seeds.items():
        if PurePosixPath(path).parts[: len(wanted)] == wanted:
            found.add(name)
    return found


def _nonempty(found: set[str], selector: str, value: str, known: Iterable[str]) -> set[str]:
    if found:
        return found
    raise ProjectError(
        f"selector '{selector}' matches nothing",
        hint=did_you_mean(value, known) or "see `duckpipe run --dry-run` for the names",
    )
