"""Casting a column to a declared type, and finding exactly the values that do not fit.

Arrow's safe cast is all-or-nothing. When it fails, DuckDB's ``TRY_CAST`` runs over the
whole column at once: a value that was present but casts to NULL did not fit. No Python
loop touches the rows.

>>> import pyarrow as pa
>>> fitted, failed = coerce(pa.array(["1", "x", None]), parse_dtype("int64", where="d"))
>>> fitted.to_pylist(), failed.to_pylist()
([1, None, None], [False, True, False])
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

from duckpipe.core.errors import ConfigError, ContractError, did_you_mean

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

_DECIMAL = re.compile(r"^(?:decimal|numeric)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$")


def _names() -> dict[str, pa.DataType]:
    import pyarrow as pa

    ts = pa.timestamp("us")
    tstz = pa.timestamp("us", tz="UTC")
    return {
        "int8": pa.int8(),
        "int16": pa.int16(),
        "smallint": pa.int16(),
        "int32": pa.int32(),
        "integer": pa.int32(),
        "int64": pa.int64(),
        "int": pa.int64(),
        "bigint": pa.int64(),
        "float32": pa.float32(),
        "real": pa.float32(),
        "float64": pa.float64(),
        "float": pa.float64(),
        "double": pa.float64(),
        "string": pa.string(),
        "str": pa.string(),
        "text": pa.string(),
        "varchar": pa.string(),
        "utf8": pa.string(),
        "object": pa.string(),
        "bool": pa.bool_(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp": ts,
        "datetime": ts,
        "datetime64[ns]": ts,
        "datetime64[us]": ts,
        "timestamptz": tstz,
        "datetime64[ns, utc]": tstz,
        "datetime64[us, utc]": tstz,
        "binary": pa.binary(),
        "bytes": pa.binary(),
        "decimal": pa.decimal128(38, 9),
        "numeric": pa.decimal128(38, 9),
    }


def parse_dtype(name: str, *, where: str) -> pa.DataType:
    """A dtype name from a contract (``int64``, ``double``, ``decimal(12,2)``...) as an Arrow type."""
    import pyarrow as pa

    key = str(name).strip().lower()
    match = _DECIMAL.match(key)
    if match:
        precision, scale = int(match[1]), int(match[2] or 0)
        if not 0 < precision <= 38 or scale > precision:
            raise ConfigError(f"invalid {name}", where=where, hint="precision 1-38, scale <= it")
        return pa.decimal128(precision, scale)
    names = _names()
    if key not in names:
        raise ConfigError(
            f"unknown dtype '{name}'",
            where=where,
            hint=did_you_mean(key, names)
            or "use int64, double, string, bool, date, "
            "timestamp, timestamptz, decimal(p,s), binary",
        )
    return names[key]


def duckdb_type(t: pa.DataType) -> str | None:
    """DuckDB's name for the Arrow type ``t`` (None when there is no such type)."""
    import pyarrow as pa

    simple = {
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.uint8(): "UTINYINT",
        pa.uint16(): "USMALLINT",
        pa.uint32(): "UINTEGER",
        pa.uint64(): "UBIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.string(): "VARCHAR",
        pa.large_string(): "VARCHAR",
        pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
        pa.binary(): "BLOB",
        pa.large_binary(): "BLOB",
        pa.time64("us"): "TIME",
    }
    if t in simple:
        return simple[t]
    if pa.types.is_timestamp(t):
        if t.tz:
            return "TIMESTAMPTZ"
        return {"s": "TIMESTAMP_S", "ms": "TIMESTAMP_MS", "us": "TIMESTAMP", "ns": "TIMESTAMP_NS"}[
            t.unit
        ]
    if pa.types.is_decimal(t) and t.precision <= 38:
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = duckdb_type(t.value_type)
        return f"{inner}[]" if inner else None
    return None


def _is_text(t: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """One small DuckDB connection per thread for TRY_CAST (results are converted back to Arrow)."""
    con = getattr(_local, "con", None)
    if con is None:
        import duckdb

        con = duckdb.connect(config={"threads": 1})
        _local.con = con
    return con


def coerce(array: pa.Array, target: pa.DataType, *, column: str = "") -> tuple[pa.Array, pa.Array]:
    """``array`` cast to ``target`` and a boolean mask of the values that did not fit.

    A value that does not fit becomes NULL in the result and True in the mask.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type == target:
        return array, pa.repeat(pa.scalar(False), len(array))
    if _is_text(array.type) and not _is_text(target):
        # an empty field (CSV ",,") is a missing value, not a value of the wrong type
        blank = pc.equal(pc.utf8_trim_whitespace(array), "")
        if pc.any(blank).as_py():
            array = pc.if_else(blank, pa.scalar(None, array.type), array)
    try:
        return pc.cast(array, target), pa.repeat(pa.scalar(False), len(array))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    name = duckdb_type(target)
    if name is None:
        raise ContractError(
            f"cannot check values of '{column}' against {target}",
            where=column or None,
            hint="declare a simpler dtype (int64, double, string, timestamp, decimal(p,s))",
        )
    con = _connection()
    con.register("_coerce", pa.table({"v": array}))
    try:
        result = con.sql(f"SELECT TRY_CAST(v AS {name}) AS v FROM _coerce").to_arrow_table()
    finally:
        con.unregister("_coerce")
    fitted = result.column("v").combine_chunks()
    failed = pc.and_(pc.is_valid(array), pc.is_null(fitted))
    if pa.types.is_floating(array.type) and pa.types.is_integer(target):
        # DuckDB rounds 1.5 to 2; a fraction is a value of the wrong type here.
        lossy = pc.not_equal(pc.cast(fitted, pa.float64()), pc.cast(array, pa.float64()))
        failed = pc.or_(failed, pc.fill_null(lossy, False))
        fitted = pc.if_else(failed, pa.scalar(None, fitted.type), fitted)
    return pc.cast(fitted, target), failed
