"""What every sink does before it commits: materialise, normalise or conform, check, retry.

Kept format-neutral so that Delta, Iceberg and memory sinks behave the same way for
the same input (one contract suite checks that).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

from duckpipe.core.errors import CommitConflict, SinkError

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.sinks.base import SchemaMode, WriteMode

T = TypeVar("T")
COMMIT_ATTEMPTS = 6


@dataclass
class Prepared:
    """Incoming rows cast for the table, plus what the commit must change in its schema."""

    data: pa.Table
    new_fields: list[pa.Field] = field(default_factory=list)
    replace_schema: bool = False


def materialize(data: pa.Table | pa.RecordBatchReader) -> pa.Table:
    """A table from a table or a reader (a commit may be retried, so rows must be replayable)."""
    import pyarrow as pa

    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    if isinstance(data, pa.Table):
        return data
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    raise SinkError(
        f"cannot write a {type(data).__name__}",
        hint="pass a pyarrow Table or RecordBatchReader (DuckDB: .to_arrow_table())",
    )


def resolve_schema_mode(
    mode: WriteMode, predicate: str | None, schema_mode: SchemaMode | None
) -> SchemaMode:
    """Default: a whole-table overwrite replaces the schema; every other write may add columns."""
    if schema_mode is not None:
        if schema_mode == "overwrite" and (mode != "overwrite" or predicate):
            raise SinkError(
                "schema_mode='overwrite' needs mode='overwrite' without a predicate",
                hint="use schema_mode='evolve' to add columns on other writes",
            )
        return schema_mode
    return "overwrite" if mode == "overwrite" and not predicate else "evolve"


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


def with_retry(commit: Callable[[], T], *, table: str, attempts: int = COMMIT_ATTEMPTS) -> T:
    """Run ``commit``; when it raises a retryable CommitConflict, run it again (with backoff).

    ``commit`` must re-read the table each time: a merge or an overwrite is re-planned
    against what the winning writer committed.
    """
    from tenacity import (
        RetryError,
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        wait_random_exponential,
    )

    retrying = Retrying(
        retry=retry_if_exception(lambda e: isinstance(e, CommitConflict) and e.retryable),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.05, max=2.0),
        reraise=False,
    )
    try:
        return retrying(commit)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise CommitConflict(
            f"gave up committing to '{table}' after {attempts} attempts: other writers kept "
            f"committing first ({last})",
            where=table,
            hint="reduce concurrent writers to this table or retry later",
            retryable=False,
        ) from last
