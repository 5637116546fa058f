"""Polled Kafka records as one Arrow table: Kafka's own fields, the payload still bytes.

A consumer hands out what it polled in this form (``raw_schema()``); the client
library's per-message objects never leave the backend module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

RAW_COLUMNS = ("_topic", "_partition", "_offset", "_timestamp", "_key", "_value", "_headers")


def raw_schema() -> pa.Schema:
    """Arrow schema of polled records: Kafka's own fields, payload still bytes."""
    import pyarrow as pa

    header = pa.struct([("key", pa.string()), ("value", pa.binary())])
    return pa.schema(
        [
            ("_topic", pa.string()),
            ("_partition", pa.int32()),
            ("_offset", pa.int64()),
            ("_timestamp", pa.timestamp("us", tz="UTC")),
            ("_key", pa.binary()),
            ("_value", pa.binary()),
            ("_headers", pa.list_(header)),
        ]
    )


Column = Sequence[Any] | Any
"""One column of a poll: a Python sequence, a numpy array or an Arrow array."""


def raw_table(
    topics: Column,
    partitions: Column,
    offsets: Column,
    timestamps_ms: Column,
    keys: Column,
    values: Column,
    headers: Column,
) -> pa.Table:
    """Columns gathered from one poll -> a table with ``raw_schema()``."""
    import pyarrow as pa

    schema = raw_schema()
    millis = _arrow(timestamps_ms, pa.int64())
    stamps = millis.cast(pa.timestamp("ms", tz="UTC")).cast(schema.field("_timestamp").type)
    return pa.Table.from_arrays(
        [
            _arrow(topics, pa.string()),
            _arrow(partitions, pa.int32()),
            _arrow(offsets, pa.int64()),
            stamps,
            _arrow(keys, pa.binary()),
            _arrow(values, pa.binary()),
            _arrow(headers, schema.field("_headers").type),
        ],
        schema=schema,
    )


def _arrow(column: Column, dtype: pa.DataType) -> pa.Array:
    import pyarrow as pa

    if isinstance(column, pa.Array) and column.type == dtype:
        return column
    return pa.array(column, dtype)
