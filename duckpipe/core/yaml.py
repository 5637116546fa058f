"""Reading the project's YAML files: a key written twice is an error, never a silent overwrite.

Plain PyYAML keeps the second value of a duplicated key. Every YAML file duckpipe
reads (``duckpipe.yml``, ``models/*.yml``, ``--prices``, model headers, checks
files) goes through here, so the error names the file, the key path, both lines
and a fix. ``error`` is the exception type the calling module raises (called as
``error(message, where=..., hint=...)``, as every ``duckpipe.core.errors`` type is), so
this floor module imports nothing else of duckpipe.

>>> from duckpipe.core.errors import ConfigError
>>> load_yaml("a: 1\\nb: {c: 2}\\n", file="x.yml", error=ConfigError)
{'a': 1, 'b': {'c': 2}}
>>> load_yaml("a:\\n  b: 1\\n  b: 2\\n", file="x.yml", error=ConfigError)
Traceback (most recent call last):
...
duckpipe.core.errors.ConfigError: x.yml:3: duplicate key 'a.b' (first at line 2, again at line 3); \
YAML would keep only the second (hint: merge the two 'b:' entries into one, or delete the one \
you do not mean)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

#: an exception type of ``duckpipe.core.errors``: ``error(message, where=..., hint=...)``
ErrorType = Callable[..., Exception]


def load_yaml(text: str, *, file: str, error: ErrorType) -> Any:
    """The document in ``text`` (None when empty); bad YAML or a duplicate key raises ``error``."""
    return construct_unique(compose_yaml(text, file=file, error=error), file=file, error=error)


def compose_yaml(text: str, *, file: str, error: ErrorType, context_first: bool = False) -> Any:
    """The node tree of ``text`` (None when empty); invalid YAML raises ``error`` at its line.

    The line is where the parser noticed the problem, or with ``context_first`` the
    start of the construct that is broken (an unclosed bracket) when YAML names one.
    """
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, file, error, context_first=context_first) from None


def construct_unique(
    root: yaml.Node | None,
    *,
    file: str,
    error: ErrorType,
    first_line: int = 1,
    at: tuple[str, ...] = (),
) -> Any:
    """Python values of the composed ``root``, refusing a key written twice in one mapping.

    ``first_line`` is the file line of the text's first line and ``at`` the key path
    above it, for YAML cut out of a larger file (a model's ``-- key: value`` header).
    """
    if root is None:
        return None
    loader = _UniqueKeyLoader("")
    try:
        return loader.construct_document(root)
    except _DuplicateKey as dup:
        path = ".".join([*at, *_path_to(root, dup.mapping), dup.key])
        first, second = dup.first_line + first_line - 1, dup.second_line + first_line - 1
        raise error(
            f"duplicate key '{path}' (first at line {first}, again at line {second}); "
            "YAML would keep only the second",
            where=f"{file}:{second}",
            hint=f"merge the two '{dup.key}:' entries into one, or delete the one you do not mean",
        ) from None
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, file, error) from None
    finally:
        loader.dispose()


def _syntax_error(
    exc: yaml.YAMLError, file: str, error: ErrorType, *, context_first: bool = False
) -> Exception:
    # the context mark points at the construct that is broken (an unclosed bracket),
    # the problem mark at where the parser noticed (often the end of the file)
    marks = ("context_mark", "problem_mark") if context_first else ("problem_mark", "context_mark")
    mark = getattr(exc, marks[0], None) or getattr(exc, marks[1], None)
    where = f"{file}:{mark.line + 1}" if mark else file
    return error(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", where=where)


class _DuplicateKey(Exception):
    """A mapping holds ``key`` twice; raised while constructing, turned into ``error``."""

    def __init__(self, mapping: yaml.MappingNode, key: str, first_line: int, second_line: int):
        super().__init__(key)
        self.mapping = mapping
        self.key = key
        self.first_line = first_line
        self.second_line = second_line


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (at any depth).

    Keys brought in by a ``<<:`` merge may be overridden, as YAML intends; only keys
    written in the mapping itself count.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._checked: set[int] = set()

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self._check_unique(node)
        return super().construct_mapping(node, deep=deep)

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # merge sources are flattened (their merged keys spliced in) before they are
        # constructed: check each mapping's own keys before that happens
        self._check_unique(node)
        super().flatten_mapping(node)

    def _check_unique(self, node: yaml.MappingNode) -> None:
        if id(node) in self._checked:
            return
        self._checked.add(id(node))
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # an unhashable key: SafeConstructor reports it
                continue
            if first is not key_node:
                raise _DuplicateKey(
                    node, str(key), first.start_mark.line + 1, key_node.start_mark.line + 1
                )


def _path_to(node: yaml.Node | None, target: yaml.Node) -> list[str]:
    """The key path from ``node`` down to ``target`` (list items as their index)."""
    if node is target:
        return []
    children: list[tuple[str, yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        children = [(str(k.value), v) for k, v in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = [(str(i), v) for i, v in enumerate(node.value)]
    for part, child in children:
        found = _path_to(child, target)
        if found or child is target:
            return [part, *found]
    return []
