"""Types Delta and Iceberg cannot store, turned into ones they can, before landing.

Neither format has an interval or a UUID type, and extension types do not survive a
round trip through their writers. So, at the lake boundary only:

- ``uuid`` -> its canonical text (``'0b1e...-...'``), which DuckDB casts back with ``::UUID``;
- ``interval`` -> DuckDB's interval text (``'1 month 2 days 03:00:00'``), ``::INTERVAL`` reads it;
- ``json`` / other string-backed extension types -> their string storage.

The type table is ``sinks.schema.storable_type`` (beside ``lake_type``, which a sink applies
when it creates a table). The conversion is columnar: DuckDB formats the uuid and interval columns of a batch in
one statement; string-backed extensions are unwrapped without a copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.sinks.schema import storable_type, stored_as_text

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


class LakeTypes:
    """Converts batches of ``schema`` to types every lake format stores (see module doc)."""

    def __init__(self, schema: pa.Schema) -> None:
        import pyarrow as pa

        self.source = schema
        self.schema = pa.schema([f.with_type(storable_type(f.type)) for f in schema])
        self.sql_columns = [f.name for f in schema if stored_as_text(f.type)]
        self.changed = self.schema != schema or bool(self.sql_columns)
        self._con: duckdb.DuckDBPyConnection | None = None

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        import pyarrow as pa

        if not self.changed:
            return batch
        formatted = self._format(batch) if self.sql_columns else {}
        columns = []
        for array, field in zip(batch.columns, self.schema, strict=True):
            if field.name in formatted:
                array = formatted[field.name]
            elif isinstance(array, pa.ExtensionArray):
                array = array.storage
            if array.type != field.type:
                array = array.cast(field.type)
            columns.append(array)
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)

    def _format(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        import duckdb
        import pyarrow as pa

        if self._con is None:
            self._con = duckdb.connect()
        sub = pa.table({name: batch.column(name) for name in self.sql_columns})
        self._con.register("_batch", sub)
        select = ", ".join(
            f'"{n}"::VARCHAR{self._list_suffix(n)} AS "{n}"' for n in self.sql_columns
        )
        try:
            result = self._con.sql(f"SELECT {select} FROM _batch").to_arrow_table()
        finally:
            self._con.unregister("_batch")
        return {name: result.column(name).combine_chunks() for name in self.sql_columns}

    def _list_suffix(self, name: str) -> str:
        import pyarrow as pa

        return "[]" if pa.types.is_list(self.source.field(name).type) else ""

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
