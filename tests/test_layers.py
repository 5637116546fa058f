"""The floors of duckpipe/: import-linter's contracts in pyproject.toml, and no import cycle.

Both count imports inside functions and under TYPE_CHECKING, like Python does when the
code runs. The contracts' ``ignore_imports`` name the known violations still to fix.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_the_import_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 broken" in out and "KEPT" in out


def test_no_module_of_duckpipe_is_in_an_import_cycle() -> None:
    graph = grimp.build_graph("duckpipe", cache_dir=None)
    for importer, imported in _known_violations(graph.modules):
        graph.remove_import(importer=importer, imported=imported)
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _known_violations(modules: set[str]) -> set[tuple[str, str]]:
    """The imports the acyclic contract ignores, wildcards expanded over ``modules``."""
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    (acyclic,) = [c for c in contracts if c["id"] == "acyclic"]
    pairs = set()
    for expression in acyclic.get("ignore_imports", []):
        left, right = (_pattern(side.strip()) for side in expression.split("->"))
        importers = [m for m in modules if left.fullmatch(m)]
        pairs |= {(a, b) for a in importers for b in modules if right.fullmatch(b)}
    return pairs


def _pattern(expression: str) -> re.Pattern[str]:
    return re.compile(r"[^.]+".join(re.escape(part) for part in expression.split("*")))


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found
