"""The tables a model's SQL reads, found by parsing it (sqlglot, DuckDB dialect).

>>> [r.name for r in table_references("with c as (select 1) select * from c join orders o on true")]
['orders']
"""

from __future__ import annotations

from dataclasses import dataclass

_DEFAULT_SCHEMAS = {"main", "memory"}


@dataclass(frozen=True)
class TableRef:
    """A table named in a FROM/JOIN (not a CTE, not a table function), with its line."""

    name: str
    line: int


class SqlSyntaxError(Exception):
    """The SQL does not parse; ``line`` is the line in the text that was parsed."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def table_references(sql: str) -> list[TableRef]:
    """Tables read by ``sql``; raises SqlSyntaxError when neither sqlglot nor DuckDB can parse it."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        statements = [s for s in sqlglot.parse(sql, dialect="duckdb") if s is not None]
    except SqlglotError as exc:
        return _duckdb_fallback(sql, exc)
    if len(statements) != 1:
        raise SqlSyntaxError(
            f"a model is one SELECT statement, found {len(statements)} statements", 1
        )
    tree = statements[0]
    if isinstance(tree, exp.Create | exp.Insert | exp.Update | exp.Delete | exp.Drop):
        raise SqlSyntaxError(f"a model is a SELECT, not {tree.key.upper()}", 1)
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    found: list[TableRef] = []
    for table in tree.find_all(exp.Table):
        ident = table.this
        if not isinstance(ident, exp.Identifier) or table.name.lower() in ctes:
            continue
        if table.catalog or (table.db and table.db.lower() not in _DEFAULT_SCHEMAS):
            continue
        found.append(TableRef(table.name, int(ident.meta.get("line", 1))))
    return found


def _duckdb_fallback(sql: str, exc: Exception) -> list[TableRef]:
    """sqlglot could not parse: DuckDB's own parser decides whether the SQL is valid."""
    import duckdb

    from duckpipe.transform.diagnostics import locate_name

    try:
        duckdb.extract_statements(sql)
    except duckdb.Error as parse_exc:
        message = str(parse_exc)
        line = 1
        if "LINE " in message:
            line = int(message.split("LINE ", 1)[1].split(":", 1)[0])
        raise SqlSyntaxError(message.split("\n")[0], line) from None
    try:
        names = duckdb.get_table_names(sql, qualified=False)
    except duckdb.Error:
        names = set()
    return [TableRef(n, locate_name(sql, n) or 1) for n in sorted(names)]
