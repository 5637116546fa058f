"""Arrow columns as JSON text, written by DuckDB SQL over the whole batch at once.

``json_text(expr, arrow_type)`` is a DuckDB expression giving the JSON text of
``expr`` (a column of that Arrow type), or NULL where the value is null or a NaN /
infinity; containers write those as ``null``. The text is byte for byte what
``json.dumps(value, separators=(",", ":"), ensure_ascii=False)`` writes for the
Python value, with the derived topic's forms for what JSON has no type for
(see ``messages.py``): timestamps ``"2024-05-01T12:00:00.000000Z"`` (UTC, ``Z`` when
the column has a time zone, none when it has not), dates ``"2024-05-01"``, times
``"12:00:00"`` / ``"12:00:00.250000"``, decimals as exact strings ``"12.50"``,
durations and intervals as seconds, binary as base64, maps as ``[[key, value], ...]``.

DuckDB's doubles as text are the shortest round-tripping form with Python's
exponent style (``1e-05``, ``1e+16``, ``100.0``), so the same as ``repr``. Its JSON
string escaping writes control characters in upper case (``\\u001F``) where Python
writes lower case; ``lower_escapes`` fixes the (rare) texts that hold one.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from duckpipe.core.errors import ConfigError
from duckpipe.core.sql import sql_string

if TYPE_CHECKING:
    import pyarrow as pa

UPPER_ESCAPE = r"\\u00[01][A-F]"
"""A control character escaped with upper-case hex digits (needs ``lower_escapes``)."""
_ESCAPES = re.compile(rb"\\(\\|u00[01][A-F])")

_TEXT = ("is_string", "is_large_string", "is_string_view")
_BINARY = ("is_binary", "is_large_binary", "is_fixed_size_binary", "is_binary_view")
_UTC_STAMP = "'\"%Y-%m-%dT%H:%M:%S.%fZ\"'"
_LOCAL_STAMP = "'\"%Y-%m-%dT%H:%M:%S.%f\"'"


def json_object(
    fields: list[tuple[str, str, pa.DataType]], *, where: str = "", path: str = ""
) -> str:
    """JSON text of an object with ``(name, expression, arrow type)`` fields, never NULL.

    ``path`` names the object's column in errors, ``where`` the setting that asked for it.
    """
    if not fields:
        return "'{}'"
    parts = []
    for i, (name, expr, arrow_type) in enumerate(fields):
        label = ("," if i else "{") + json.dumps(name, ensure_ascii=False) + ":"
        column = f"{path}.{name}" if path else name
        text = json_text(expr, arrow_type, where=where, path=column)
        parts.append(f"{sql_string(label)} || coalesce({text}, 'null')")
    return "(" + " || ".join(parts) + " || '}')"


def json_text(
    expr: str, arrow_type: pa.DataType, *, where: str = "", path: str = "", depth: int = 0
) -> str:
    """The JSON text of ``expr``, NULL for null, NaN and infinities (see the module docstring)."""
    import pyarrow as pa

    t = pa.types
    if t.is_dictionary(arrow_type):
        return json_text(expr, arrow_type.value_type, where=where, path=path, depth=depth)
    if t.is_null(arrow_type):
        return "null::VARCHAR"
    if t.is_boolean(arrow_type):
        return f"(case when {expr} then 'true' when not {expr} then 'false' end)"
    if t.is_integer(arrow_type):
        return f"({expr})::VARCHAR"
    if t.is_floating(arrow_type):
        return f"(case when isfinite({expr}) then ({expr})::DOUBLE::VARCHAR end)"
    if any(getattr(t, name)(arrow_type) for name in _TEXT):
        return f"to_json(({expr})::VARCHAR)::VARCHAR"
    if t.is_decimal(arrow_type) and arrow_type.precision <= 38:  # DuckDB's widest
        return f"('\"' || ({expr})::VARCHAR || '\"')"
    if t.is_timestamp(arrow_type):
        if arrow_type.tz is not None:
            return f"strftime(({expr}) at time zone 'UTC', {_UTC_STAMP})"
        return f"strftime(({expr})::TIMESTAMP, {_LOCAL_STAMP})"
    if t.is_date(arrow_type):
        return f"strftime(({expr})::DATE, '\"%Y-%m-%d\"')"
    if t.is_time(arrow_type):
        text = f"({expr})::TIME::VARCHAR"  # '12:00:00' or '12:00:00.25': Python pads to 6 digits
        return f"('\"' || (case when contains({text}, '.') then rpad({text}, 15, '0') else {text} end) || '\"')"
    if t.is_duration(arrow_type) or t.is_interval(arrow_type):
        return f"epoch(({expr})::INTERVAL)::DOUBLE::VARCHAR"
    if any(getattr(t, name)(arrow_type) for name in _BINARY):
        return f"('\"' || base64(({expr})::BLOB) || '\"')"
    if t.is_struct(arrow_type):
        fields = [
            (f.name, f"struct_extract({expr}, {sql_string(f.name)})", f.type) for f in arrow_type
        ]
        return (
            f"(case when {expr} is not null then {json_object(fields, where=where, path=path)} end)"
        )
    if t.is_map(arrow_type):
        e = f"_e{depth}"
        key = json_text(f"{e}.key", arrow_type.key_type, where=where, path=path, depth=depth + 1)
        value = json_text(
            f"{e}.value", arrow_type.item_type, where=where, path=path, depth=depth + 1
        )
        pair = f"'[' || coalesce({key}, 'null') || ',' || coalesce({value}, 'null') || ']'"
        return _array(f"map_entries({expr})", e, pair, expr)
    if t.is_list(arrow_type) or t.is_large_list(arrow_type) or t.is_fixed_size_list(arrow_type):
        e = f"_e{depth}"
        item = json_text(e, arrow_type.value_type, where=where, path=path, depth=depth + 1)
        return _array(f"({expr})", e, f"coalesce({item}, 'null')", expr)
    raise ConfigError(
        f"column '{path}' has type {arrow_type}, which the derived topic cannot write as JSON",
        where=where or None,
        hint="cast it in the stream's sql: to a text, number, time or nested type of those",
    )


def _array(items: str, var: str, text: str, expr: str) -> str:
    joined = f"array_to_string(list_transform({items}, lambda {var}: {text}), ',')"
    return f"(case when {expr} is not null then '[' || {joined} || ']' end)"


def lower_escapes(text: bytes) -> bytes:
    """``\\u001F`` -> ``\\u001f`` in JSON text, leaving escaped backslashes (``\\\\u001F``) alone."""
    return _ESCAPES.sub(lambda m: b"\\" + m.group(1).lower(), text)
