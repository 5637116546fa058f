"""A stream's output rows as Kafka messages for its derived topic (``topic:``).

Each output row becomes one message:

- **value**: a JSON object of the row's columns. The Kafka metadata columns of the
  source records (``_topic, _partition, _offset, _timestamp, _key, _headers``) are
  left out unless the stream's ``sql:`` names them (``select _offset, ...``).
- **key**: a JSON object of the key columns, ``topic_key:`` when set, else the
  stream's ``key:`` plus ``window_start`` for windowed streams; no key when there are
  none (the producer then spreads messages over the partitions).
- **headers**: ``duckpipe.stream``, and where the row still carries its source
  record's position, ``duckpipe.topic``, ``duckpipe.partition``, ``duckpipe.offset``.

JSON encoding, the same in keys, values and nested values: timestamps as ISO-8601
strings with microseconds (``2024-05-01T12:00:00.000000Z``; in UTC with a ``Z`` when
the column has a time zone, without one when it has none), dates ``2024-05-01``,
times ``12:00:00``, decimals as strings (exact: ``"12.50"``), durations as a number
of seconds, binary as base64 strings, NaN and infinities as null.

>>> import pyarrow as pa
>>> rows = pa.table({"user": ["u1"], "n": [3], "_offset": [7]})
>>> [(m.key, m.value) for m in encode(rows, key=["user"], sql=None)]
[(b'{"user":"u1"}', b'{"user":"u1","n":3}')]
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from duckpipe.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import StreamConfig

META_COLUMNS = ("_topic", "_partition", "_offset", "_timestamp", "_key", "_headers", "_value")
POSITION = ("_topic", "_partition", "_offset")


@dataclass(frozen=True)
class Message:
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def key_columns(config: StreamConfig) -> list[str]:
    """The derived topic's message key: ``topic_key``, else ``key`` (+ ``window_start``)."""
    if config.topic_key is not None:
        return list(config.topic_key)
    if config.window is not None:
        return [*config.key, "window_start"]
    return list(config.key)


def value_columns(columns: list[str], sql: str | None) -> list[str]:
    """The columns in a message's value: Kafka metadata only where ``sql`` names it."""
    named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql or ""))
    return [c for c in columns if c not in META_COLUMNS or c in named]


def encode(
    rows: pa.Table, *, key: list[str], sql: str | None, stream: str = "", where: str = ""
) -> list[Message]:
    """``rows`` as messages (see the module docstring for the encoding)."""
    missing = [k for k in key if k not in rows.column_names]
    if missing:
        raise ConfigError(
            f"the derived topic's key column '{missing[0]}' is not in the stream's output "
            f"(columns: {', '.join(rows.column_names)})",
            where=where or None,
            hint="keep the key columns in the SELECT, or set topic_key: to columns it has "
            "(topic_key: [] for messages without a key)",
        )
    values = value_columns(rows.column_names, sql)
    positioned = all(c in rows.column_names for c in POSITION)
    stream_header = ("duckpipe.stream", stream.encode())
    out = []
    for row in _finite(rows).to_pylist():
        headers = [stream_header]
        if positioned:
            headers += [(f"duckpipe.{c[1:]}", str(row[c]).encode()) for c in POSITION]
        out.append(
            Message(
                key=_json({k: row[k] for k in key}) if key else None,
                value=_json({c: row[c] for c in values}),
                headers=headers,
            )
        )
    return out


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, default=_plain, separators=(",", ":"), ensure_ascii=False).encode()


def _plain(value: Any) -> Any:
    """JSON for what ``json`` cannot write itself."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _finite(rows: pa.Table) -> pa.Table:
    """Top-level NaN and infinities as null (JSON has no way to write them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(rows.schema):
        if pa.types.is_floating(field.type):
            column = rows.column(i)
            finite = pc.is_finite(column)
            rows = rows.set_column(i, field, pc.if_else(finite, column, None))
    return rows
