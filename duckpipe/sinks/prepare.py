"""What every sink does to the rows before it commits: normalise or conform them, check them.

Kept format-neutral so that Delta, Iceberg and memory sinks behave the same way for
the same input (one contract suite checks that).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from duckpipe.core.errors import SinkError
from duckpipe.sinks.base import SchemaMode

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class Prepared:
    """Incoming rows cast for the table, plus what the commit must change in its schema."""

    data: pa.Table
    new_fields: list[pa.Field] = field(default_factory=list)
    replace_schema: bool = False


def prepare(
    data: pa.Table,
    current: pa.Schema | None,
    *,
    table: str,
    schema_mode: SchemaMode,
    partial: bool = False,
) -> Prepared:
    """Cast ``data`` for writing into a table whose schema is ``current`` (None: a new table).

    ``partial`` keeps only the columns the data has (merge sources: an absent column
    means "leave it as it is", not "set it to null").
    """
    import pyarrow as pa

    from duckpipe.sinks.schema import cast_column, conform, lake_schema

    if current is None or schema_mode == "overwrite":
        target = pa.schema([f.with_nullable(True) for f in lake_schema(data.schema)])
        columns = [cast_column(data.column(f.name), f, table=table) for f in target]
        return Prepared(
            pa.Table.from_arrays(columns, schema=target), replace_schema=current is not None
        )
    if partial:
        current = pa.schema([f for f in current if f.name in data.column_names])
    evolution: Literal["strict", "evolve"] = "strict" if schema_mode == "strict" else "evolve"
    conformed, new_fields = conform(data, current, table=table, evolution=evolution)
    return Prepared(conformed, new_fields)


def with_new_columns(rows: pa.Table, fields: list[pa.Field]) -> pa.Table:
    """``rows`` plus null columns for ``fields`` it lacks (old rows after schema evolution)."""
    import pyarrow as pa

    for f in fields:
        if f.name not in rows.column_names:
            rows = rows.append_column(f, pa.nulls(rows.num_rows, f.type))
    return rows


def check_rows_match(data: pa.Table, predicate: str, *, table: str) -> None:
    """Rows written by a predicate overwrite must satisfy the predicate (else they'd be lost)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("__d", data)
        try:
            row = con.execute(
                f"SELECT count(*) FROM __d WHERE NOT coalesce(({predicate}), false)"
            ).fetchone()
        except duckdb.Error as exc:
            raise SinkError(
                f"cannot evaluate predicate '{predicate}': {str(exc).splitlines()[0]}",
                where=table,
                hint="write the predicate as SQL over the table's columns, e.g. \"day = '2024-05-01'\"",
            ) from None
    finally:
        con.close()
    bad = int(row[0]) if row else 0
    if bad:
        raise SinkError(
            f"{bad:,} row(s) written to '{table}' do not match the overwrite predicate '{predicate}'",
            where=table,
            hint="an overwrite by predicate replaces exactly the rows it matches; filter the "
            "data to the predicate or widen the predicate",
        )


def rows_not_matching(data: pa.Table, predicate: str) -> pa.Table:
    """The rows of ``data`` the SQL ``predicate`` does not select (kept by an overwrite)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("__d", data)
        return con.sql(
            f"SELECT * FROM __d WHERE NOT coalesce(({predicate}), false)"
        ).to_arrow_table()
    finally:
        con.close()
