"""``--as-of`` values: a version number or a point in time.

>>> parse_as_of("12")
12
>>> parse_as_of("2024-05-01").isoformat()
'2024-05-01T00:00:00+00:00'
>>> parse_as_of("2024-05-01T10:30:00+02:00").isoformat()
'2024-05-01T08:30:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime

from duckpipe.core.errors import SinkError


def parse_as_of(value: str | int | datetime) -> int | datetime:
    """A version (int) or an aware UTC datetime; naive times are taken as UTC."""
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return as_utc(value)
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SinkError(
            f"cannot read '{value}' as a version or a timestamp",
            where="--as-of",
            hint="give a version number (12) or an ISO time (2024-05-01T10:00:00Z)",
        ) from None
    return as_utc(parsed)


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_millis(moment: datetime) -> int:
    return int(as_utc(moment).timestamp() * 1000)


def from_millis(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def no_version_at(table: str, moment: datetime, first: str | None) -> SinkError:
    return SinkError(
        f"table '{table}' has no version at or before {moment.isoformat()}",
        where=table,
        hint=f"its first version is from {first}" if first else "the table has no versions yet",
    )
