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
times ``12:00:00``, decimals as strings (exact: ``"12.50"``), durations and intervals
as a number of seconds, binary as base64 strings, maps as ``[[key, value], ...]``,
NaN and infinities as null. The whole batch is encoded by one DuckDB query
(``jsontext.py``), not row by row.

>>> import pyarrow as pa
>>> rows = pa.table({"user": ["u1"], "n": [3], "_offset": [7]})
>>> [(m.key, m.value) for m in encode(rows, key=["user"], sql=None)]
[(b'{"user":"u1"}', b'{"user":"u1","n":3}')]
"""

from __future__ import annotations

import gc
import re
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

from duckpipe.core.errors import ConfigError
from duckpipe.core.sql import quote
from duckpipe.streaming.jsontext import UPPER_ESCAPE, json_object, lower_escapes
from duckpipe.streaming.tuning import duckdb_threads

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import StreamConfig

META_COLUMNS = ("_topic", "_partition", "_offset", "_timestamp", "_key", "_headers", "_value")
POSITION = ("_topic", "_partition", "_offset")
_POSITION_HEADERS = tuple(f"duckpipe.{c[1:]}" for c in POSITION)
_ROWS = "_dp_message_rows"
_database: Any = None
_lock = threading.Lock()


class Message(NamedTuple):
    """One derived-topic message (a tuple: built by the hundred thousand per batch)."""

    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    """Tuples only: the garbage collector stops tracking them, so big batches stay cheap."""


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
    if not rows.num_rows:
        return []
    texts = _texts(rows, key, value_columns(rows.column_names, sql), where)
    values = texts.column("value").to_pylist()
    keys = texts.column("key").to_pylist() if key else [None] * len(values)
    stream_header = ("duckpipe.stream", stream.encode())
    positioned = "duckpipe.topic" in texts.column_names
    columns = [texts.column(h).to_pylist() for h in _POSITION_HEADERS] if positioned else []
    enabled = gc.isenabled()
    gc.disable()  # freed by reference counting; the collector would rescan them as they come
    try:
        if not positioned:
            return [Message(k, v, (stream_header,)) for k, v in zip(keys, values, strict=True)]
        return [
            Message(k, v, (stream_header, *zip(_POSITION_HEADERS, at, strict=True)))
            for k, v, at in zip(keys, values, zip(*columns, strict=True), strict=True)
        ]
    finally:
        if enabled:
            gc.enable()


def _texts(rows: pa.Table, key: list[str], values: list[str], where: str) -> pa.Table:
    """One DuckDB query over the batch: ``key`` and ``value`` JSON, header texts (binary)."""
    import pyarrow.compute as pc

    def fields(names: list[str]) -> list[tuple[str, str, Any]]:
        return [(n, quote(n), rows.schema.field(n).type) for n in names]

    select = [f"encode({json_object(fields(values), where=where)}) as value"]
    if key:
        select.append(f"encode({json_object(fields(key), where=where)}) as key")
    if all(c in rows.column_names for c in POSITION):
        select += [f'encode({quote(c)}::VARCHAR) as "duckpipe.{c[1:]}"' for c in POSITION]
    con = _connection()
    try:
        con.register(_ROWS, rows)
        texts = con.sql(f"select {', '.join(select)} from {_ROWS}").to_arrow_table()
    finally:
        con.close()
    for name in ("value", "key") if key else ("value",):
        column = texts.column(name)
        if pc.any(pc.match_substring_regex(column, UPPER_ESCAPE)).as_py():
            fixed = [None if b is None else lower_escapes(b) for b in column.to_pylist()]
            texts = texts.set_column(texts.column_names.index(name), name, [fixed])
    return texts


def _connection() -> Any:
    """A connection of its own to one in-memory database (batches commit on worker threads)."""
    global _database
    with _lock:
        if _database is None:
            import duckdb

            _database = duckdb.connect(config={"threads": duckdb_threads()})
        return _database.cursor()
