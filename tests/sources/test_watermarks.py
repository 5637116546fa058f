from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from duckpipe.core.errors import ConfigError
from duckpipe.sources.watermarks import MaxTracker, Watermark, parse_lookback


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2 hours", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1 week", timedelta(weeks=1)),
        ("1000", Decimal(1000)),
        (None, None),
    ],
)
def test_lookback_forms(text, expected):
    assert parse_lookback(text, where="sources.x.lookback") == expected


def test_unreadable_lookback_names_the_key():
    with pytest.raises(ConfigError) as err:
        parse_lookback("two hours", where="sources.orders.lookback")
    assert err.value.where == "sources.orders.lookback"
    assert "30m" in str(err.value)


def test_position_round_trip_keeps_the_type():
    for value in (
        datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC),
        datetime(2024, 5, 1, 12, 30),
        date(2024, 5, 1),
        42,
        Decimal("10.50"),
        "b-17",
    ):
        mark = Watermark.of("c", value)
        again = Watermark.from_position(mark.to_position())
        assert again == mark
        assert again.value == value
        assert type(again.value) is type(value)


def test_timestamptz_is_normalised_to_utc():
    plus_two = datetime(2024, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    mark = Watermark.of("ts", plus_two)
    assert mark.value.tzinfo == UTC
    assert mark.value.hour == 12
    assert mark.to_position()["watermark"] == "2024-01-01T12:00:00+00:00"


def test_lower_bound_subtracts_the_lookback():
    ts = Watermark.of("ts", datetime(2024, 1, 1, 12, tzinfo=UTC))
    assert ts.lower_bound(timedelta(hours=1)) == datetime(2024, 1, 1, 11, tzinfo=UTC)
    assert ts.lower_bound(None) == ts.value
    assert Watermark.of("id", 100).lower_bound(Decimal(10)) == 90
    assert Watermark.of("d", date(2024, 1, 10)).lower_bound(timedelta(days=2)) == date(2024, 1, 8)


def test_lookback_without_unit_on_a_time_watermark_is_an_error():
    with pytest.raises(ConfigError, match="no unit"):
        Watermark.of("ts", datetime(2024, 1, 1)).lower_bound(Decimal(5))
    with pytest.raises(ConfigError, match="text watermark"):
        Watermark.of("code", "abc").lower_bound(timedelta(hours=1))


def test_a_watermark_never_moves_back():
    mark = Watermark.of("id", 10)
    assert mark.advanced(5).value == 10
    assert mark.advanced(None).value == 10
    assert mark.advanced(12).value == 12


def test_max_tracker_over_batches_ignores_nulls():
    tracker = MaxTracker("ts")
    t = pa.timestamp("us", tz="UTC")
    tracker.update(pa.record_batch({"ts": pa.array([1_000_000, None], t)}))
    tracker.update(pa.record_batch({"ts": pa.array([None, None], t)}))
    tracker.update(pa.record_batch({"ts": pa.array([3_000_000, 2_000_000], t)}))
    assert tracker.kind == "timestamptz"
    assert tracker.value == datetime(1970, 1, 1, 0, 0, 3, tzinfo=UTC)


def test_unsupported_last_watermark_is_a_clear_error():
    with pytest.raises(ConfigError, match="cannot use"):
        Watermark.of("c", [1, 2])
