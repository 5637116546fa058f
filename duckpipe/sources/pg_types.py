"""PostgreSQL -> Arrow types, on top of what the ADBC driver hands over.

The driver maps most types itself: int2/4/8 -> int16/32/64, real/double -> float32/64,
bool, text/varchar -> string, date -> date32, timestamp -> timestamp[us],
timestamptz -> timestamp[us, UTC], interval -> month_day_nano_interval,
uuid -> arrow.uuid, json/jsonb -> arrow.json, bytea -> binary, arrays -> list.

``numeric`` arrives as an opaque string-backed extension type. Its precision and scale
travel in the field metadata (``POSTGRESQL:typmod``), so ``numeric(p,s)`` becomes
``decimal128(p,s)`` and DuckDB sees a DECIMAL. An unconstrained ``numeric`` becomes
``decimal128(38, 9)`` (``options.numeric_scale`` changes the scale); a value that does
not fit is an error naming the column, never silently rounded or wrapped (Arrow's
string -> decimal cast wraps on overflow, so the integer digits are checked first).

A ``numeric(p,s)`` with ``p > 38`` has no exact decimal in DuckDB, Delta or Iceberg
(all stop at 38 digits): it lands as its exact PostgreSQL text, and the run warns
naming the column (``wide_numerics``).

Formatting numerics as text is the slowest part of a read, so a ``numeric(p,s)`` with
``p <= 18`` is selected as the integer ``value * 10^s`` (exact: it fits a bigint) and
its bits are laid out as a decimal128 directly (``scaled_numerics``, ``decimal_from_scaled``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.core.errors import SourceError

if TYPE_CHECKING:
    import pyarrow as pa

MAX_PRECISION = 38
DEFAULT_NUMERIC_SCALE = 9


def _pg_type(field: pa.Field) -> str:
    meta = field.metadata or {}
    return meta.get(b"POSTGRESQL:type", b"").decode()


def numeric_type(field: pa.Field, default_scale: int = DEFAULT_NUMERIC_SCALE) -> pa.DataType:
    """``decimal128(p, s)`` from the column's typmod, ``(38, default_scale)`` when unconstrained.

    PostgreSQL stores ``numeric(p,s)`` as typmod ``((p << 16) | s) + 4``.
    """
    import pyarrow as pa

    raw = (field.metadata or {}).get(b"POSTGRESQL:typmod", b"-1")
    typmod = int(raw)
    if typmod < 4:
        return pa.decimal128(MAX_PRECISION, default_scale)
    precision = ((typmod - 4) >> 16) & 0xFFFF
    scale = (typmod - 4) & 0xFFFF
    if precision > MAX_PRECISION:
        return pa.string()  # exact text: no lake format has a decimal this wide
    return pa.decimal128(precision, scale)


def wide_numerics(described: pa.Schema) -> list[str]:
    """Columns ``numeric(p,s)`` with ``p > 38``, which land as their exact text."""
    import pyarrow as pa

    return [
        f.name
        for f in described
        if _is_opaque(f.type) and _pg_type(f) == "numeric" and numeric_type(f) == pa.string()
    ]


def _is_opaque(t: pa.DataType) -> bool:
    return getattr(t, "extension_name", None) == "arrow.opaque"


def scaled_numerics(described: pa.Schema) -> dict[str, int]:
    """Columns read as ``value * 10^scale`` bigints: ``numeric(p,s)`` with ``p <= 18`` -> scale."""
    import pyarrow as pa

    scaled = {}
    for field in described:
        if _is_opaque(field.type) and _pg_type(field) == "numeric":
            t = numeric_type(field)
            if pa.types.is_decimal(t) and t.precision <= 18:
                scaled[field.name] = t.scale
    return scaled


def decimal_from_scaled(ints: pa.Array, target: pa.DataType) -> pa.Array:
    """Bigints holding ``value * 10^scale`` as ``decimal128(p, scale)``: same numbers, no parsing.

    A decimal128 is a 16-byte two's complement integer; the high half is the sign extension.
    """
    import numpy as np
    import pyarrow as pa

    total = ints.offset + len(ints)
    low = np.frombuffer(ints.buffers()[1], dtype=np.int64, count=total)
    wide = np.empty((total, 2), dtype=np.int64)
    wide[:, 0] = low
    wide[:, 1] = low >> 63
    return pa.Array.from_buffers(
        target,
        len(ints),
        [ints.buffers()[0], pa.py_buffer(wide)],
        null_count=ints.null_count,
        offset=ints.offset,
    )


def target_type(field: pa.Field, default_scale: int) -> pa.DataType:
    """The Arrow type duckpipe gives the column ``field`` of a PostgreSQL result."""
    import pyarrow as pa

    t = field.type
    if _is_opaque(t):
        if _pg_type(field) == "numeric":
            return numeric_type(field, default_scale)
        return t.storage_type  # other vendor types (money, inet, enums...) as their text
    if pa.types.is_list(t):
        value_field = t.value_field
        return pa.list_(value_field.with_type(target_type(value_field, default_scale)))
    return t


def target_schema(described: pa.Schema, default_scale: int = DEFAULT_NUMERIC_SCALE) -> pa.Schema:
    """The schema batches of a result described by ``described`` are converted to."""
    import pyarrow as pa

    return pa.schema(
        [f.with_type(target_type(f, default_scale)) for f in described],
        metadata=described.metadata,
    )


def convert_batch(
    batch: pa.RecordBatch, target: pa.Schema, *, where: str, scaled: frozenset[str] = frozenset()
) -> pa.RecordBatch:
    """``batch`` with numeric and other opaque columns cast to ``target`` (vectorised)."""
    import pyarrow as pa

    columns = []
    for array, field in zip(batch.columns, target, strict=True):
        if array.type == field.type:
            columns.append(array)
        elif field.name in scaled:
            columns.append(decimal_from_scaled(array, field.type))
        else:
            columns.append(_convert(array, field, where))
    return pa.RecordBatch.from_arrays(columns, schema=target)


def _storage(array: pa.Array) -> pa.Array:
    import pyarrow as pa

    if isinstance(array, pa.ExtensionArray):
        return array.storage
    if pa.types.is_list(array.type) and isinstance(array.values, pa.ExtensionArray):
        return pa.ListArray.from_arrays(array.offsets, array.values.storage, mask=array.is_null())
    return array


def _convert(array: pa.Array, field: pa.Field, where: str) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    storage = _storage(array)
    try:
        if pa.types.is_decimal(field.type):
            _check_integer_digits(storage, field.type)
        return pc.cast(storage, field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        bad = _first_unfit(storage, field.type)
        raise SourceError(
            f"column '{field.name}' holds {bad!r}, which does not fit {field.type} ({exc})",
            where=f"{where}.{field.name}",
            hint=f"declare the column as numeric(p,s), cast it in the query (e.g. "
            f"round({field.name}, 9)), or set options.numeric_scale",
        ) from exc


def _integer_digits_fit(storage: pa.Array, target: pa.DataType) -> pa.Array:
    """Per value: PostgreSQL's text of it has at most ``precision - scale`` integer digits."""
    import pyarrow.compute as pc

    digits = target.precision - target.scale
    pattern = rf"^-?(0*[0-9]{{0,{digits}}}(\.[0-9]*)?|[A-Za-z]+)$"  # NaN, Infinity: cast fails
    return pc.match_substring_regex(storage, pattern)


def _check_integer_digits(storage: pa.Array, target: pa.DataType) -> None:
    """Raise ArrowInvalid when a value has more integer digits than ``target`` holds:
    Arrow's cast would wrap it around instead of failing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    fits = _integer_digits_fit(storage, target)
    if not pc.all(fits).as_py():
        raise pa.ArrowInvalid(
            f"a value has more than {target.precision - target.scale} integer digits"
        )


def _first_unfit(storage: pa.Array, target: pa.DataType) -> str | None:
    """The first value of ``storage`` that cannot be cast to ``target`` (only on the error path)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for value in storage.to_pylist():
        if value is None:
            continue
        try:
            if pa.types.is_decimal(target):
                _check_integer_digits(pa.array([value], storage.type), target)
            pc.cast(pa.array([value], storage.type), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return str(value)
    return None
