"""Rules as pure functions over hand-made facts: thresholds, edge cases, extension."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from duckpipe.advisor import RULES, Context, Finding, default_prices, load_prices, run_rules
from duckpipe.advisor.facts import (
    DAY,
    FileFact,
    PartitionScheme,
    TableFacts,
    Unreferenced,
    point_filter_depth,
    size_histogram,
)
from duckpipe.advisor.findings import rank, severity_for_usd
from duckpipe.advisor.prices import GiB, MiB
from duckpipe.advisor.rules import per_table
from duckpipe.advisor.rules.partitions import coarser_schemes, regroup

NOW = 1_800_000_000.0


def table(
    files: list[tuple[str, int]] | list[FileFact],
    *,
    scheme: tuple[tuple[str, str, str], ...] = (),
    fmt: str = "delta",
    **kwargs,  # type: ignore[no-untyped-def]
) -> TableFacts:
    facts = [
        f if isinstance(f, FileFact) else FileFact(f"{f[0]}/f{i}.parquet", f[1], 10, NOW, f[0])
        for i, f in enumerate(files)
    ]
    return TableFacts("t", fmt, "/lake/t", tuple(facts), PartitionScheme(scheme), **kwargs)  # type: ignore[arg-type]


def findings(facts: TableFacts, **thresholds) -> list[Finding]:  # type: ignore[no-untyped-def]
    prices = load_prices(("test", {"thresholds": thresholds})) if thresholds else default_prices()
    return run_rules([facts], Context(prices=prices, now=NOW))


def test_coarser_schemes_walk_hour_day_month_year_none() -> None:
    keys = [f"ts_hour=2024-0{m}-0{d}-{h:02d}" for m in (1, 2) for d in (1, 2) for h in (0, 13)]
    facts = table([(k, 1000) for k in keys], scheme=(("ts_hour", "ts", "hour"),), fmt="iceberg")
    schemes = coarser_schemes(facts)
    assert [s.describe for s in schemes] == ["day(ts)", "month(ts)", "year(ts)", "none"]
    assert [len(regroup(facts, s)) for s in schemes] == [4, 2, 1, 1]
    assert regroup(facts, schemes[1]) == {"ts_hour=2024-01": 4000, "ts_hour=2024-02": 4000}


def test_hive_columns_drop_the_finest_field_first() -> None:
    keys = [f"year=2024/month={m}/day={d}" for m in (1, 2) for d in range(1, 6)]
    facts = table(
        [(k, 100) for k in keys], scheme=tuple((c, c, "identity") for c in ("year", "month", "day"))
    )
    assert [s.describe for s in coarser_schemes(facts)] == ["year, month", "year", "none"]


def test_over_partitioned_delta_dates_suggest_a_derived_coarser_column() -> None:
    keys = [f"day=2024-{m:02d}-{d:02d}" for m in range(1, 4) for d in range(1, 29)]
    facts = table([(k, 20 * MiB) for k in keys], scheme=(("day", "day", "identity"),))
    found = [f for f in findings(facts) if f.rule == "over_partitioning"]
    assert len(found) == 1
    f = found[0]
    # 28 days x 20 MB = 560 MB a month, below 1 GB; a year (1.6 GB) meets the guideline
    assert f.evidence["proposed_scheme"] == "year(day)"
    assert f.evidence["proposed_partitions"] == 1
    assert f.fix.startswith("add the column(s) year(day) to the model")
    assert f.severity == "medium"  # median 20 MB is below a tenth of the guideline
    assert f.evidence["median_partition_bytes"] == 20 * MiB


def test_oversized_files_and_under_partitioning() -> None:
    facts = table([("", 3 * GiB)] * 40)
    rules = {f.rule: f for f in findings(facts)}
    assert set(rules) == {"oversized_files", "under_partitioning"}
    assert rules["oversized_files"].evidence["oversized_files"] == 40
    assert rules["oversized_files"].severity == "medium"
    assert rules["under_partitioning"].evidence["total_bytes"] == 120 * GiB
    assert rules["under_partitioning"].evidence["suggested_partitions"] == 120


def test_skew_needs_a_large_partition_in_absolute_terms() -> None:
    small = table(
        [(f"k={i}", 1000) for i in range(5)] + [("k=big", 100_000)],
        scheme=(("k", "k", "identity"),),
    )
    assert [f.rule for f in findings(small, min_partitions=50)] == []
    found = [f for f in findings(small, min_partitions=50, partition_min_bytes=50_000)]
    assert [f.rule for f in found] == ["partition_skew"]
    assert found[0].severity == "high"  # 100x the median
    assert found[0].evidence["suggested_buckets"] == 2


def _aged(days: float, size: int = 1 * MiB) -> FileFact:
    return FileFact(f"f{days}.parquet", size, 1, NOW - days * DAY)


def test_lifecycle_respects_minimum_storage_duration_and_object_size() -> None:
    facts = table([_aged(20), _aged(45), _aged(45, 64 * 1024), _aged(200)])
    # asked to go warm after 10 days: IA bills 30 days minimum, so the 20-day file stays
    f = next(
        f
        for f in findings(facts, warm_after_days=10, min_monthly_usd=0)
        if f.rule == "lifecycle_tiering"
    )
    assert f.evidence["warm_after_days"] == 30
    assert f.evidence["warm_files"] == 1 and f.evidence["warm_bytes"] == MiB
    assert f.evidence["files_below_min_object_size"] == 1
    assert f.evidence["cold_files"] == 1 and f.evidence["cold_after_days"] == 90
    assert f.evidence["payback_months"] > 0


def test_lifecycle_below_the_money_floor_is_not_reported() -> None:
    assert findings(table([_aged(200)])) == []  # $0.00002 a month < min_monthly_usd $1


def test_archive_classes_warn_that_reads_need_a_restore() -> None:
    facts = table([_aged(400, 100 * GiB)])
    f = next(f for f in findings(facts, cold_class="deep_archive") if f.rule == "lifecycle_tiering")
    assert f.evidence["cold_after_days"] == 180  # Deep Archive's minimum duration
    assert "restored before any query can read" in f.detail
    assert '"StorageClass":"DEEP_ARCHIVE"' in f.fix


def test_many_versions_without_freeable_bytes_is_low() -> None:
    facts = table([("", MiB)], versions=500, unreferenced=Unreferenced(10, 10 * MiB, 0, 0, 168))
    f = next(f for f in findings(facts) if f.rule == "version_bloat")
    assert f.severity == "low" and f.monthly_usd == 0
    assert f.fix == "duckpipe table vacuum t --retention-hours 168"
    assert "10.0 MB more becomes freeable" in f.detail


def test_point_filter_depth_and_histogram() -> None:
    assert point_filter_depth([(0, 9), (10, 19), (20, 29)]) == 1.0
    assert point_filter_depth([(0, 99)] * 4) == 4.0
    assert point_filter_depth([("a", "c"), ("b", "d")]) == 1.5  # strings: probed at minimums
    assert point_filter_depth([]) == 0.0
    hist = size_histogram([FileFact("a", 100, 1, 0), FileFact("b", 600 * MiB, 1, 0)])
    assert [(b["label"], b["files"]) for b in hist if b["files"]] == [
        ("< 128 KB", 1),
        ("512 MB - 1 GB", 1),
    ]


def test_severity_and_ranking() -> None:
    assert [severity_for_usd(x) for x in (0, 9.99, 10, 100)] == ["low", "low", "medium", "high"]
    a = Finding("a", "t", "low", "", {}, 50.0, "x")
    b = Finding("b", "t", "high", "", {}, 1.0, "x")
    c = Finding("c", "t", "low", "", {}, 60.0, "x")
    assert [f.rule for f in rank([a, b, c])] == ["b", "c", "a"]


def test_a_new_rule_is_one_function_in_the_list() -> None:
    @per_table
    def no_rows(facts: TableFacts, ctx: Context) -> Iterator[Finding]:
        if facts.total_rows == 0:
            yield Finding(
                "no_rows",
                facts.name,
                "low",
                "empty table",
                {"files": facts.file_count},
                0.0,
                "drop it",
            )

    empty = table([FileFact("a.parquet", 10, 0, NOW)])
    ctx = Context(prices=default_prices(), now=NOW)
    assert [f.rule for f in run_rules([empty], ctx, [*RULES, no_rows])] == ["no_rows"]


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_is_quiet_on_an_empty_lake(rule) -> None:  # type: ignore[no-untyped-def]
    assert list(rule([], Context(prices=default_prices(), now=NOW))) == []
