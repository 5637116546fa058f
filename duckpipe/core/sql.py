"""SQL text helpers shared by every stage that writes DuckDB SQL."""

from __future__ import annotations


def quote(name: str) -> str:
    """A double-quoted SQL identifier: ``quote('a"b')`` -> ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'
