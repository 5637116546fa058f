"""SQL text helpers shared by every stage that writes DuckDB SQL."""

from __future__ import annotations


def quote(name: str) -> str:
    """A double-quoted SQL identifier: ``quote('a"b')`` -> ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    """A SQL string literal: ``sql_string("it's")`` -> ``'it''s'``."""
    return "'" + text.replace("'", "''") + "'"
