"""The price table: defaults, layered overrides, and errors that name the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from duckpipe.advisor.prices import default_prices, load_prices, read_prices_file
from duckpipe.core.errors import ConfigError


def test_defaults_are_the_published_s3_prices() -> None:
    p = default_prices()
    assert {k: c.gb_month for k, c in p.storage_classes.items()} == {
        "standard": 0.023,
        "standard_ia": 0.0125,
        "glacier_ir": 0.004,
        "glacier_flexible": 0.0036,
        "deep_archive": 0.00099,
    }
    assert p.storage("standard").get_per_1000 == 0.0004
    assert p.storage("standard").put_per_1000 == p.list_per_1000 == 0.005
    assert p.storage("standard_ia").min_object_kb == p.storage("glacier_ir").min_object_kb == 128
    assert [p.storage(c).min_days for c in ("standard_ia", "glacier_ir", "deep_archive")] == [
        30,
        90,
        180,
    ]
    assert p.thresholds.target_file_bytes == 512 * 1024**2
    assert p.thresholds.partition_min_bytes == 1024**3
    assert p.sources == ("defaults: AWS S3 list prices, us-east-1",)


def test_overrides_merge_deeply_in_order_and_are_named() -> None:
    p = load_prices(
        ("duckpipe.yml prices:", {"storage_classes": {"standard": {"gb_month": 0.025}}}),
        ("prices.yml", {"storage_classes": {"standard": {"get_per_1000": 0.001}}, "region": "x"}),
        ("empty", {}),
    )
    std = p.storage("standard")
    assert (std.gb_month, std.get_per_1000, std.put_per_1000) == (0.025, 0.001, 0.005)
    assert p.region == "x"
    assert p.sources == (
        "defaults: AWS S3 list prices, us-east-1",
        "duckpipe.yml prices:",
        "prices.yml",
    )
    assert p.describe()["storage_classes"]["standard"]["gb_month"] == 0.025


@pytest.mark.parametrize(
    ("override", "message", "hint"),
    [
        ({"storage_classes": {"glacier": {}}}, "unknown storage class 'glacier'", "glacier_ir"),
        (
            {"thresholds": {"scan_per_month": 3}},
            "unknown price key 'thresholds.scan_per_month'",
            "scans_per_month",
        ),
        ({"regoin": "x"}, "unknown price key 'regoin'", "region"),
        ({"thresholds": {"skew_ratio": 0.5}}, "invalid price 'thresholds.skew_ratio'", "got 0.5"),
        (
            {"thresholds": {"cold_class": "tape"}},
            "invalid price 'thresholds.cold_class'",
            "got 'tape'",
        ),
    ],
)
def test_bad_overrides_name_the_key_and_the_source(override, message, hint) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as err:
        load_prices(("team-prices.yml", override))
    assert err.value.message.startswith(message)
    assert err.value.where == "team-prices.yml"
    assert hint in (err.value.hint or "")


def test_prices_file_errors_point_at_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "p.yml"
    bad.write_text("region: x\nthresholds: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        read_prices_file(bad)
    assert err.value.where == f"{bad}:3"
    with pytest.raises(ConfigError, match="no prices file"):
        read_prices_file(tmp_path / "missing.yml")
    good = tmp_path / "ok.json"
    good.write_text('{"compute": {"spot_discount": 0.6}}')
    assert load_prices(read_prices_file(good)).compute.spot_discount == 0.6


def test_prices_file_with_a_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yml"
    prices.write_text("compute:\n  spot_discount: 0.6\n  spot_discount: 0.7\n")
    with pytest.raises(ConfigError) as err:
        read_prices_file(prices)
    assert err.value.where == f"{prices}:3"
    assert "duplicate key 'compute.spot_discount'" in err.value.message
    assert "first at line 2, again at line 3" in err.value.message
    assert "merge the two 'spot_discount:' entries" in str(err.value.hint)
