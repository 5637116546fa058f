"""Watermarks: the highest value of a source's watermark column that has been landed.

A watermark travels as JSON inside the lake commit that landed its rows
(``Position.value``), so it is stored with a type tag that says how to read it back:

>>> w = Watermark("updated_at", "timestamptz", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
>>> w.to_position()
{'column': 'updated_at', 'type': 'timestamptz', 'watermark': '2024-01-02T03:04:05+00:00'}
>>> Watermark.from_position(w.to_position()) == w
True
>>> str(w.lower_bound(parse_lookback("1h", where="lookback")))
'2024-01-02 02:04:05+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from duckpipe.core import units
from duckpipe.core.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

TIME_KINDS = ("timestamp", "timestamptz", "date")
NUMBER_KINDS = ("integer", "decimal", "float")

Lookback = timedelta | Decimal | None


def parse_lookback(text: str | None, *, where: str) -> Lookback:
    """``"2h"``, ``"30 minutes"``, ``"1d"`` -> a timedelta; a bare number (``"1000"``) -> a Decimal.

    >>> parse_lookback("90s", where="x"), parse_lookback("500", where="x")
    (datetime.timedelta(seconds=90), Decimal('500'))
    """
    if text is None or str(text).strip() == "":
        return None
    if units.is_plain_number(str(text)):
        return Decimal(str(text).strip())
    try:
        return timedelta(seconds=units.parse_duration(str(text)))
    except ValueError:
        raise ConfigError(
            f"cannot read lookback '{text}'",
            where=where,
            hint="write a duration like 30m, 2h, 1d (or a plain number for a numeric watermark)",
        ) from None


def kind_of(arrow_type: pa.DataType) -> str:
    """The watermark kind for a column of ``arrow_type``."""
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_decimal(arrow_type):
        return "decimal"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    raise ConfigError(
        f"a column of type {arrow_type} cannot be a watermark",
        hint="use a timestamp, date, integer, decimal or text column that grows with every change",
    )


def _decode(kind: str, raw: Any) -> Any:
    if raw is None:
        return None
    if kind in ("timestamp", "timestamptz"):
        value = datetime.fromisoformat(raw)
        return value.astimezone(UTC) if kind == "timestamptz" and value.tzinfo else value
    if kind == "date":
        return date.fromisoformat(raw)
    if kind == "integer":
        return int(raw)
    if kind == "decimal":
        return Decimal(raw)
    if kind == "float":
        return float(raw)
    return str(raw)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@dataclass(frozen=True)
class Watermark:
    """The last landed value of ``column``; ``kind`` says how to read and compare it."""

    column: str
    kind: str
    value: Any

    @classmethod
    def of(cls, column: str, value: Any) -> Watermark:
        """A watermark from a Python value (datetime, date, int, Decimal, float or str).

        >>> Watermark.of("id", 41).to_position()
        {'column': 'id', 'type': 'integer', 'watermark': 41}
        """
        if isinstance(value, datetime):
            kind = "timestamptz" if value.tzinfo else "timestamp"
        elif isinstance(value, date):
            kind = "date"
        elif isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
            raise ConfigError(
                f"cannot use {value!r} as the last watermark of '{column}'",
                hint="pass a datetime, date, int, Decimal, float or str",
            )
        else:
            kind = {int: "integer", Decimal: "decimal", float: "float"}.get(type(value), "string")
        return cls(column, kind, _decode(kind, _encode(value)))

    @classmethod
    def from_position(cls, position: dict[str, Any] | None) -> Watermark | None:
        """The watermark stored in a commit's position, or None (never landed: a full load)."""
        if not position or position.get("watermark") is None:
            return None
        kind = position.get("type", "string")
        return cls(position["column"], kind, _decode(kind, position["watermark"]))

    def to_position(self) -> dict[str, Any]:
        return {"column": self.column, "type": self.kind, "watermark": _encode(self.value)}

    def lower_bound(self, lookback: Lookback) -> Any:
        """The value rows must exceed to be read: the watermark minus the overlap window."""
        if lookback is None or lookback == 0:
            return self.value
        if self.kind in TIME_KINDS:
            if not isinstance(lookback, timedelta):
                raise ConfigError(
                    f"lookback {lookback} has no unit but '{self.column}' is a {self.kind}",
                    hint="write it as a duration: 30m, 2h, 1d",
                )
            if self.kind == "date":
                return self.value - timedelta(days=max(1, round(lookback.total_seconds() / 86400)))
            return self.value - lookback
        if self.kind in NUMBER_KINDS:
            step = lookback.total_seconds() if isinstance(lookback, timedelta) else lookback
            if self.kind == "integer":
                return self.value - int(step)
            if self.kind == "float":
                return self.value - float(step)
            return self.value - Decimal(str(step))
        raise ConfigError(
            f"lookback does not apply to the text watermark '{self.column}'",
            hint="remove lookback, or use a timestamp or numeric watermark column",
        )

    def advanced(self, seen_max: Any) -> Watermark:
        """This watermark moved to ``seen_max`` when that is higher (a watermark never goes back)."""
        if seen_max is None or (self.value is not None and seen_max <= self.value):
            return self
        return Watermark(self.column, self.kind, seen_max)


def bound_text(value: Any) -> str:
    """``value`` as text a database can cast back to the column's type (a bound parameter)."""
    return str(_encode(value))


class MaxTracker:
    """The running maximum of one column over a stream of record batches (one kernel per batch)."""

    def __init__(self, column: str) -> None:
        self.column = column
        self.kind: str | None = None
        self.value: Any = None

    def update(self, batch: pa.RecordBatch) -> None:
        import pyarrow.compute as pc

        index = batch.schema.get_field_index(self.column)
        if index < 0:
            return
        array = batch.column(index)
        if self.kind is None:
            self.kind = kind_of(array.type)
        top = pc.max(array).as_py()
        if top is not None and (self.value is None or top > self.value):
            self.value = top.astimezone(UTC) if isinstance(top, datetime) and top.tzinfo else top
