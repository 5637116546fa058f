"""Arrow schemas at the lake boundary: normalise what DuckDB produces, cast it safely to a table.

DuckDB hands out Arrow with every column nullable and its own choice of widths
(``string_view``, ``decimal128(38, 0)`` for sums, unsigned integers). A table has a
fixed schema. ``conform`` casts incoming data to it where no value can change (value
checked: an ``int64`` column of small numbers fits an ``int32`` column) and raises a
``SinkError`` naming the table and column otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from duckpipe.core.errors import ColumnTypeError, SinkError

if TYPE_CHECKING:
    import pyarrow as pa

Evolution = Literal["strict", "evolve"]


def stored_as_text(t: pa.DataType) -> bool:
    """Whether the lakes store ``t`` as its text (uuid, interval; also inside lists)."""
    import pyarrow as pa

    if getattr(t, "extension_name", None) == "arrow.uuid" or pa.types.is_interval(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return stored_as_text(t.value_type)
    return False


def storable_type(t: pa.DataType) -> pa.DataType:
    """``t`` as a type both formats can store, widths kept (landing: ``sinks.lake_types``).

    uuid and interval become text, other extension types their storage type.
    """
    import pyarrow as pa

    if stored_as_text(t) and not pa.types.is_list(t):
        return pa.string()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(storable_type(t.value_type))
    if isinstance(t, pa.ExtensionType):
        return storable_type(t.storage_type)
    return t


def lake_type(t: pa.DataType) -> pa.DataType:
    """The type a new table stores for Arrow type ``t`` (both formats can hold it)."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return lake_type(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_unsigned_integer(t):
        return {8: pa.int16(), 16: pa.int32(), 32: pa.int64()}.get(t.bit_width, pa.int64())
    if pa.types.is_int8(t) or pa.types.is_int16(t):
        return pa.int32()
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz=t.tz)
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_time(t):
        return pa.time64("us")
    if pa.types.is_decimal(t) and t.precision > 38:
        return pa.decimal128(38, min(t.scale, 38))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(lake_field(t.value_field))
    if pa.types.is_struct(t):
        return pa.struct([lake_field(t.field(i)) for i in range(t.num_fields)])
    if pa.types.is_map(t):
        return pa.map_(lake_type(t.key_type), lake_field(t.item_field))
    return t


def lake_field(f: pa.Field) -> pa.Field:
    import pyarrow as pa

    return pa.field(f.name, lake_type(f.type), nullable=f.nullable)


def lake_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every type replaced by the type a new lake table uses for it."""
    import pyarrow as pa

    return pa.schema([lake_field(f) for f in schema])


def plain_types(schema: pa.Schema) -> pa.Schema:
    """Large string/binary/list types replaced by the plain ones (the libraries differ)."""
    import pyarrow as pa

    def plain(t: pa.DataType) -> pa.DataType:
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            return pa.string()
        if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
            return pa.binary()
        if pa.types.is_large_list(t) or pa.types.is_list(t):
            return pa.list_(t.value_field.with_type(plain(t.value_type)))
        if pa.types.is_struct(t):
            return pa.struct(
                [t.field(i).with_type(plain(t.field(i).type)) for i in range(t.num_fields)]
            )
        return t

    return pa.schema([pa.field(f.name, plain(f.type), f.nullable) for f in schema])


def conform(
    data: pa.Table, target: pa.Schema, *, table: str, evolution: Evolution = "evolve"
) -> tuple[pa.Table, list[pa.Field]]:
    """Cast ``data`` to ``target``'s columns; return it and the new columns to add (if evolving).

    Columns missing from ``data`` become nulls (an error for a NOT NULL column). Extra
    columns are new nullable columns under ``evolve`` and an error under ``strict``.
    """
    import pyarrow as pa

    columns: list[pa.Array | pa.ChunkedArray] = []
    fields: list[pa.Field] = []
    incoming = {name: i for i, name in enumerate(data.column_names)}
    for f in target:
        if f.name in incoming:
            columns.append(cast_column(data.column(incoming[f.name]), f, table=table))
        elif f.nullable:
            columns.append(pa.nulls(data.num_rows, f.type))
        else:
            raise SinkError(
                f"column '{f.name}' is NOT NULL in table '{table}' but missing from the data",
                where=f"{table}.{f.name}",
                hint=f"select a value for '{f.name}' in the SQL that produces the rows",
            )
        fields.append(f)
    known = set(target.names)
    extra = [data.schema.field(n) for n in data.column_names if n not in known]
    if extra and evolution == "strict":
        names = ", ".join(f"'{f.name}'" for f in extra)
        raise SinkError(
            f"data has column(s) {names} that table '{table}' does not have",
            where=table,
            hint="drop them from the SELECT, or write with schema_mode='evolve' to add them",
        )
    new_fields = [pa.field(f.name, lake_type(f.type), nullable=True) for f in extra]
    for f in new_fields:
        columns.append(cast_column(data.column(f.name), f, table=table))
        fields.append(f)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields)), new_fields


def cast_column(
    column: pa.Array | pa.ChunkedArray, target: pa.Field, *, table: str
) -> pa.ChunkedArray:
    """Cast one column to ``target`` if every value survives unchanged, else raise SinkError."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.Array):
        column = pa.chunked_array([column], column.type)
    where = f"{table}.{target.name}"
    if not target.nullable and column.null_count:
        raise SinkError(
            f"column '{target.name}' of table '{table}' is NOT NULL but {column.null_count:,} "
            "incoming row(s) are null",
            where=where,
            hint=f"filter or coalesce the nulls, e.g. coalesce({target.name}, <default>)",
        )
    source = column.type
    if pa.types.is_dictionary(source):
        column = column.cast(source.value_type)
        source = source.value_type
    if source == target.type:
        return column
    if not _castable(source, target.type):
        raise ColumnTypeError(
            f"cannot write column '{target.name}' of type {source} into table '{table}', "
            f"where it is {target.type}",
            where=where,
            hint=f"cast it in SQL (CAST({target.name} AS ...)) or overwrite the table "
            "with schema_mode='overwrite'",
        )
    try:
        return pc.cast(column, target.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SinkError(
            f"values of column '{target.name}' do not fit table '{table}' type "
            f"{target.type}: {exc}",
            where=where,
            hint="cast or round them in SQL first, or widen the table's column",
        ) from None


def _family(t: pa.DataType) -> str:
    import pyarrow as pa

    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return "exact"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    if pa.types.is_timestamp(t):
        return f"timestamp:{bool(t.tz)}"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return "list"
    if pa.types.is_struct(t):
        return "struct"
    if pa.types.is_map(t):
        return "map"
    return str(t)


def _castable(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether a value-checked cast from ``source`` to ``target`` cannot change meaning."""
    import pyarrow as pa

    if pa.types.is_null(source):
        return True
    a, b = _family(source), _family(target)
    if a == b:
        return True
    # integers and decimals into floats: exact while values are small, which the cast checks
    return a == "exact" and b == "float"
