"""MERGE computed in DuckDB: the new contents of the rows a merge touches, and its metrics.

Sinks use it for the ``rewrite`` strategy: they pick the smallest unit they can
replace atomically (Delta partitions, Iceberg data files, a whole in-memory table),
read the target rows of the units that hold a match, call ``merge_rows`` and replace
those units with the result in one commit. Every matching target row must be among
the rows passed in, so that "not matched" means not matched anywhere in the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from duckpipe.core.errors import SinkError
from duckpipe.core.sql import quote

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from duckpipe.sinks.base import MergeSpec


@dataclass
class MergeOutcome:
    """The rows that replace the touched target rows, and what happened to them."""

    rows: pa.Table
    inserted: int
    updated: int
    deleted: int
    copied: int


def check_keys(spec: MergeSpec, table: str, target: list[str], source: list[str]) -> None:
    """Merge keys must exist on both sides; update columns must exist in the table."""
    from duckpipe.core.errors import did_you_mean

    if not spec.keys:
        raise SinkError(
            "a merge needs at least one key column", where=table, hint="MergeSpec(keys=[...])"
        )
    for key in spec.keys:
        for side, columns in (("table", target), ("incoming data", source)):
            if key not in columns:
                raise SinkError(
                    f"merge key '{key}' is not a column of the {side} for table '{table}'",
                    where=f"{table}.{key}",
                    hint=did_you_mean(key, columns) or f"columns: {', '.join(columns)}",
                )
    if isinstance(spec.update, dict):
        for column in spec.update:
            if column not in target:
                raise SinkError(
                    f"merge updates column '{column}' that table '{table}' does not have",
                    where=f"{table}.{column}",
                    hint=did_you_mean(column, target),
                )


def join_condition(spec: MergeSpec) -> str:
    keys = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in spec.keys)
    return f"{keys} AND ({spec.predicate})" if spec.predicate else keys


def units_with_matches(
    target_keys: pa.Table, source: pa.Table, spec: MergeSpec, unit_columns: list[str]
) -> pa.Table:
    """Distinct ``unit_columns`` values of target rows whose keys occur in ``source``."""
    con = _connect()
    try:
        con.register("__t", target_keys)
        con.register("__s", source.select(spec.keys))
        units = ", ".join(f"t.{quote(c)}" for c in unit_columns)
        keys = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in spec.keys)
        sql = f"SELECT DISTINCT {units} FROM __t t SEMI JOIN __s s ON {keys}"
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()


def merge_rows(target: pa.Table, source: pa.Table, spec: MergeSpec, *, table: str) -> MergeOutcome:
    """Apply ``spec`` to ``target`` rows with ``source`` rows; return the replacement rows.

    The result has ``target``'s columns: kept rows, updated rows (unless deleted) and,
    when ``spec.insert``, the source rows that matched nothing.
    """
    con = _connect()
    try:
        con.register("__t0", target)
        con.register("__s0", source)
        con.execute("CREATE TEMP TABLE __t AS SELECT *, row_number() OVER () AS __rid FROM __t0")
        con.execute("CREATE TEMP TABLE __s AS SELECT *, row_number() OVER () AS __sid FROM __s0")
        try:
            con.execute(
                "CREATE TEMP TABLE __m AS SELECT t.__rid, s.__sid, "
                f"coalesce(({spec.delete_when or 'false'}), false) AS __del "
                f"FROM __t t JOIN __s s ON {join_condition(spec)}"
            )
        except Exception as exc:
            raise SinkError(
                f"merge into '{table}' failed to match rows: {str(exc).splitlines()[0]}",
                where=table,
                hint="merge predicates are SQL over aliases s (incoming) and t (table)",
            ) from None
        dup = con.execute(
            "SELECT __rid, count(*) FROM __m GROUP BY __rid HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if dup:
            raise SinkError(
                f"merge into '{table}': {dup[1]} incoming rows match the same table row on "
                f"keys ({', '.join(spec.keys)})",
                where=table,
                hint="deduplicate the incoming rows on the merge keys first "
                "(e.g. QUALIFY row_number() OVER (PARTITION BY key ORDER BY ts DESC) = 1)",
            )
        columns = target.column_names
        source_columns = set(source.column_names)
        t_cols = ", ".join(f"t.{quote(c)}" for c in columns)
        parts = [f"SELECT {t_cols} FROM __t t ANTI JOIN __m m ON t.__rid = m.__rid"]
        if spec.update == "none":
            parts.append(_matched(t_cols, deleted=False))
        else:
            parts.append(_matched(_update_projection(spec, columns, source_columns), deleted=False))
        if spec.insert:
            insert = ", ".join(
                f"s.{quote(c)}" if c in source_columns else f"NULL AS {quote(c)}" for c in columns
            )
            parts.append(f"SELECT {insert} FROM __s s ANTI JOIN __m m ON s.__sid = m.__sid")
        try:
            rows = con.sql(" UNION ALL BY NAME ".join(f"({p})" for p in parts)).to_arrow_table()
        except Exception as exc:
            raise SinkError(
                f"merge into '{table}' failed: {str(exc).splitlines()[0]}",
                where=table,
                hint="update expressions are SQL over aliases s (incoming) and t (table)",
            ) from None
        counts = con.execute(
            "SELECT count(*) FILTER (WHERE __del), count(*) FILTER (WHERE NOT __del) FROM __m"
        ).fetchone()
        deleted, matched_kept = (int(counts[0]), int(counts[1])) if counts else (0, 0)
        inserted = 0
        if spec.insert:
            row = con.execute("SELECT count(*) FROM __s s ANTI JOIN __m m USING (__sid)").fetchone()
            inserted = int(row[0]) if row else 0
        rows = rows.select(columns)
        return MergeOutcome(
            rows=rows,
            inserted=inserted,
            updated=0 if spec.update == "none" else matched_kept,
            deleted=deleted,
            copied=target.num_rows - deleted - matched_kept,
        )
    finally:
        con.close()


def _matched(projection: str, *, deleted: bool) -> str:
    condition = "m.__del" if deleted else "NOT m.__del"
    return (
        f"SELECT {projection} FROM __m m JOIN __t t ON t.__rid = m.__rid "
        f"JOIN __s s ON s.__sid = m.__sid WHERE {condition}"
    )


def _update_projection(spec: MergeSpec, columns: list[str], source_columns: set[str]) -> str:
    out = []
    for c in columns:
        if isinstance(spec.update, dict) and c in spec.update:
            out.append(f"({spec.update[c]}) AS {quote(c)}")
        elif spec.update == "all" and c in source_columns:
            out.append(f"s.{quote(c)} AS {quote(c)}")
        else:
            out.append(f"t.{quote(c)} AS {quote(c)}")
    return ", ".join(out)


def _connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    return duckdb.connect()
