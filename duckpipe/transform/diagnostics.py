"""Errors from DuckDB and sqlglot, pointed back at the model file and line the user wrote.

Compiled SQL differs from the file (Jinja, inlined ephemeral models), so every compiled
line carries its origin; a DuckDB ``LINE n:`` marker or the name an error is about is
translated through it and shown with a snippet of the original file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from duckpipe.core.errors import DuckpipeError, ModelError, ProjectError, did_you_mean

_DUCKDB_LINE = re.compile(r"^LINE (\d+):", re.MULTILINE)
_QUOTED = re.compile(r'"([^"]+)"')
_MISSING_TABLE = re.compile(r"with name (\S+) does not exist")
# the name an error is about, most specific first; then any quoted name in the message
_ABOUT = (
    _MISSING_TABLE,
    re.compile(r'column named "([^"]+)"'),
    re.compile(r'[Rr]eferenced (?:column|table) "([^"]+)"'),
    re.compile(r'[Ff]unction (?:with name )?"?([\w.]+)"? does not exist'),
)


@dataclass(frozen=True)
class SourceMap:
    """For each line of compiled SQL (1-based), the file and line it came from."""

    origins: tuple[tuple[str, int], ...]

    def locate(self, line: int) -> tuple[str, int]:
        if not self.origins:
            return ("?", 1)
        return self.origins[min(max(line, 1), len(self.origins)) - 1]


def snippet(text: str, line: int, *, context: int = 2, column: int | None = None) -> str:
    """Lines around ``line`` of ``text``, numbered, the offending one marked with ``>``."""
    lines = text.splitlines()
    first, last = max(1, line - context), min(len(lines), line + 1)
    width = len(str(last))
    out = []
    for number in range(first, last + 1):
        marker = ">" if number == line else " "
        out.append(f"  {marker} {number:>{width}} | {lines[number - 1]}")
        if number == line and column:
            out.append(f"    {' ' * width} | {' ' * (column - 1)}^")
    return "\n".join(out)


def locate_name(sql: str, name: str) -> int | None:
    """The first compiled line where ``name`` appears as an identifier (via sqlglot's tokenizer)."""
    from sqlglot.errors import TokenError
    from sqlglot.tokens import Tokenizer, TokenType

    wanted = name.strip('"').lower().split(".")[-1]
    try:
        tokens = Tokenizer(dialect="duckdb").tokenize(sql)
    except TokenError:
        tokens = []
    for token in tokens:
        is_name = token.token_type in (TokenType.VAR, TokenType.IDENTIFIER)
        if (is_name or token.text.isidentifier()) and token.text.lower() == wanted:
            return token.line
    for number, text in enumerate(sql.splitlines(), start=1):
        if re.search(rf"\b{re.escape(wanted)}\b", text, re.IGNORECASE):
            return number
    return None


def first_sql_line(sql: str) -> int:
    """The first compiled line holding SQL rather than blanks or comments."""
    for number, text in enumerate(sql.splitlines(), start=1):
        stripped = text.strip()
        if stripped and not stripped.startswith("--"):
            return number
    return 1


def duckdb_error(
    exc: Exception,
    sql: str,
    source_map: SourceMap,
    files: dict[str, str],
    *,
    line_offset: int = 0,
    names: Iterable[str] = (),
) -> DuckpipeError:
    """Turn a DuckDB exception raised by ``sql`` into an error naming the original file and line.

    ``line_offset`` is how many lines the executed statement had before ``sql`` began;
    ``names`` are the relations that exist (for did-you-mean on unknown tables).
    """
    import duckdb

    message = str(exc).strip()
    headline, _, rest = message.partition("\n")
    details = [
        text
        for text in rest.splitlines()
        if text.strip() and not text.startswith("LINE ") and set(text.strip()) != {"^"}
    ]
    line = _compiled_line(message, sql, line_offset)
    path, origin_line = source_map.locate(line)
    text = headline + "".join(f"\n  {d}" for d in details)
    if path in files:
        text += "\n" + snippet(files[path], origin_line)
    where = f"{path}:{origin_line}"
    if isinstance(exc, duckdb.CatalogException):
        missing = _MISSING_TABLE.search(headline)
        if missing:
            table = missing.group(1).strip("\"'")
            hint = (
                did_you_mean(table, names) or "it is not a model, seed, landed source or lake table"
            )
            return ProjectError(
                f"'{table}' names no model, seed, source or lake table\n{snippet(files.get(path, ''), origin_line)}",
                where=where,
                hint=hint,
            )
    return ModelError(text, where=where)


def _compiled_line(message: str, sql: str, line_offset: int) -> int:
    match = _DUCKDB_LINE.search(message)
    if match:
        return int(match.group(1)) - line_offset
    headline = message.split("\n")[0]
    specific = [m.group(1) for pattern in _ABOUT if (m := pattern.search(headline))]
    for name in [*specific, *_QUOTED.findall(headline)]:
        found = locate_name(sql, name)
        if found:
            return found
    return first_sql_line(sql)
