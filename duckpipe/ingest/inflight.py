"""In-flight SQL: a source's ``transform:`` runs over every incoming batch before it lands.

This is the ETL shape: the raw rows are never stored, only what the SQL makes of them.
The SQL reads the batch as a relation named ``batch`` (DuckDB dialect) and runs once per
record batch, so it should work row by row (select, rename, cast, filter, derive);
aggregates would only see one batch. The contract then checks the transformed rows, so
a row the SQL could not clean (say ``try_cast`` gave NULL for a ``not_null`` column) goes
to the dead letter queue, not into the table.

    sources:
      orders:
        uri: data/orders.csv
        transform: |
          select order_id, lower(trim(email)) as email, try_cast(amount as decimal(12, 2)) as amount
          from batch where status <> 'test'
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from duckpipe.core.errors import ConfigError, DuckpipeError

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.engine import Engine

RELATION = "batch"


def transformed(
    reader: pa.RecordBatchReader, sql: str | None, *, source: str
) -> pa.RecordBatchReader:
    """``reader`` with ``sql`` applied to each batch (``reader`` itself when there is no SQL).

    >>> import pyarrow as pa
    >>> rows = pa.table({"x": [1, 2, 3]}).to_reader()
    >>> transformed(rows, "select x * 10 as y from batch where x > 1", source="s").read_all().to_pylist()
    [{'y': 20}, {'y': 30}]
    """
    if not sql or not reader.schema.names:
        return reader
    import pyarrow as pa

    from duckpipe.engine import Engine

    engine = Engine(threads=1)
    where = f"sources.{source}.transform"
    try:
        schema = _run(engine, sql, reader.schema.empty_table(), where).schema
    except BaseException:
        engine.close()
        raise
    return pa.RecordBatchReader.from_batches(schema, _batches(engine, sql, reader, schema, where))


def _batches(
    engine: Engine, sql: str, reader: pa.RecordBatchReader, schema: pa.Schema, where: str
) -> Iterator[pa.RecordBatch]:
    try:
        for batch in reader:
            out = _run(engine, sql, batch, where)
            if out.schema != schema:  # DuckDB gives the same types for the same input types
                out = out.cast(schema)
            yield from out.to_batches()
    finally:
        engine.close()


def _run(engine: Engine, sql: str, batch: pa.RecordBatch | pa.Table, where: str) -> pa.Table:
    engine.register(RELATION, batch)
    try:
        return engine.arrow(sql, where=where)
    except DuckpipeError as exc:
        columns = ", ".join(batch.schema.names)
        raise ConfigError(
            f"the in-flight transform failed: {exc.message}",
            where=where,
            hint=f"the SQL reads the incoming rows as `{RELATION}` with columns {columns}",
        ) from exc
    finally:
        engine.unregister(RELATION)
