"""Facts about a lake's tables, gathered from metadata only. Pure data, no I/O.

A reader builds one ``TableFacts`` per table from the Delta log, the Iceberg
manifests, Parquet footers and object listings; the rules judge these facts and
never look at storage themselves.

Data age ("last modified") has one precedence everywhere:

1. the table's own record of when a file was written: the Delta ``add`` action's
   ``modificationTime``; for Iceberg, the commit time of the snapshot that added
   the file;
2. the object's last-modified time from the listing (plain Parquet folders, and
   Iceberg files whose adding snapshot has expired).

``age_source`` on each table says which one was used.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

TableFormat = Literal["delta", "iceberg", "parquet"]
DAY = 86_400.0


@dataclass(frozen=True)
class FileFact:
    """One live data file."""

    path: str  # relative to the table folder
    bytes: int
    rows: int | None
    modified: float  # seconds since the epoch (see the module docstring for the source)
    partition: str = ""  # "col=value/col2=value2", "" when unpartitioned


@dataclass(frozen=True)
class PartitionFact:
    """Totals of one partition."""

    key: str
    files: int
    bytes: int
    rows: int | None
    newest_modified: float


@dataclass(frozen=True)
class PartitionScheme:
    """How a table is partitioned: columns in order with their transforms."""

    fields: tuple[tuple[str, str, str], ...] = ()  # (partition name, source column, transform)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f[0] for f in self.fields)

    @property
    def source_columns(self) -> tuple[str, ...]:
        return tuple(f[1] for f in self.fields)

    def describe(self) -> str:
        parts = []
        for name, source, transform in self.fields:
            parts.append(source if transform == "identity" else f"{transform}({source})")
            if transform == "identity" and name != source:
                parts[-1] = name
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class RowGroupFacts:
    """Row groups seen in a sample of Parquet footers."""

    files_sampled: int = 0
    row_groups: int = 0
    median_bytes: int = 0
    min_bytes: int = 0
    max_bytes: int = 0


@dataclass(frozen=True)
class Unreferenced:
    """Files in the table folder that the current version does not read."""

    files: int = 0
    bytes: int = 0
    freeable_files: int = 0  # what vacuum / snapshot expiry with ``retain_hours`` removes
    freeable_bytes: int = 0
    retain_hours: int = 0


@dataclass(frozen=True)
class TableFacts:
    """Everything the rules know about one table."""

    name: str
    format: TableFormat
    location: str
    files: tuple[FileFact, ...]
    scheme: PartitionScheme = PartitionScheme()
    columns: tuple[str, ...] = ()
    versions: int = 1  # Delta versions / Iceberg snapshots still kept
    oldest_version_at: float | None = None
    unreferenced: Unreferenced = Unreferenced()
    row_groups: RowGroupFacts = RowGroupFacts()
    clustering: dict[str, float] = field(default_factory=dict)  # column -> files per point filter
    age_source: str = "object last-modified"
    rows_estimated: bool = False
    sort_order: tuple[str, ...] = ()

    @property
    def file_count(self) -> int:
        return len(self.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    @property
    def total_rows(self) -> int | None:
        rows = [f.rows for f in self.files]
        return None if any(r is None for r in rows) else sum(r for r in rows if r is not None)

    @property
    def partitioned(self) -> bool:
        return bool(self.scheme.fields)

    def partitions(self) -> list[PartitionFact]:
        """Per-partition totals, largest first; one entry '' for an unpartitioned table."""
        return list(self._partitions)

    @cached_property
    def _partitions(self) -> tuple[PartitionFact, ...]:
        groups: dict[str, list[FileFact]] = {}
        for f in self.files:
            groups.setdefault(f.partition, []).append(f)
        out = []
        for key, files in groups.items():
            rows = [f.rows for f in files]
            out.append(
                PartitionFact(
                    key=key,
                    files=len(files),
                    bytes=sum(f.bytes for f in files),
                    rows=None if None in rows else sum(r or 0 for r in rows),
                    newest_modified=max(f.modified for f in files),
                )
            )
        return tuple(sorted(out, key=lambda p: (-p.bytes, p.key)))

    def partition_keys(self) -> set[str]:
        return {f.partition for f in self.files if f.partition}

    def median_file_bytes(self) -> int:
        return int(statistics.median(f.bytes for f in self.files)) if self.files else 0


# File-size histogram buckets: (label, upper bound in bytes, exclusive)
SIZE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 128 KB", 128 * 1024),
    ("128 KB - 1 MB", 1024**2),
    ("1 - 8 MB", 8 * 1024**2),
    ("8 - 64 MB", 64 * 1024**2),
    ("64 - 128 MB", 128 * 1024**2),
    ("128 - 512 MB", 512 * 1024**2),
    ("512 MB - 1 GB", 1024**3),
    ("1 - 2 GB", 2 * 1024**3),
    ("> 2 GB", float("inf")),
)


def size_histogram(files: Iterable[FileFact]) -> list[dict[str, Any]]:
    """Files and bytes per ``SIZE_BUCKETS`` bucket."""
    bounds = [b for _, b in SIZE_BUCKETS]
    counts = [0] * len(SIZE_BUCKETS)
    sizes = [0] * len(SIZE_BUCKETS)
    for f in files:
        i = bisect.bisect_right(bounds, f.bytes)
        i = min(i, len(bounds) - 1)
        counts[i] += 1
        sizes[i] += f.bytes
    lower = 0.0
    out = []
    for (label, upper), n, b in zip(SIZE_BUCKETS, counts, sizes, strict=True):
        out.append(
            {
                "label": label,
                "min_bytes": int(lower),
                "max_bytes": None if upper == float("inf") else int(upper),
                "files": n,
                "bytes": b,
            }
        )
        lower = upper
    return out


def age_tiers(
    files: Iterable[FileFact], now: float, warm_after_days: int, cold_after_days: int
) -> dict[str, dict[str, int]]:
    """Files and bytes untouched for < warm (hot), < cold (warm) and longer (cold)."""
    tiers = {name: {"files": 0, "bytes": 0} for name in ("hot", "warm", "cold")}
    for f in files:
        tier = age_tier(f, now, warm_after_days, cold_after_days)
        tiers[tier]["files"] += 1
        tiers[tier]["bytes"] += f.bytes
    return tiers


def age_tier(f: FileFact, now: float, warm_after_days: int, cold_after_days: int) -> str:
    age = (now - f.modified) / DAY
    if age >= cold_after_days:
        return "cold"
    if age >= warm_after_days:
        return "warm"
    return "hot"


def clustering_depth(files: Sequence[FileFact], ranges: Sequence[tuple[Any, Any] | None]) -> float:
    """Files a point filter on a column reads within one partition, averaged over files.

    ``ranges[i]`` is file ``i``'s (min, max) of the column; 0.0 when any is unknown.
    Clustering rewrites files within their partition, so 1.0 is the best possible.
    """
    if not ranges or any(r is None or r[0] is None or r[1] is None for r in ranges):
        return 0.0
    groups: dict[str, list[tuple[Any, Any]]] = {}
    for f, r in zip(files, ranges, strict=True):
        assert r is not None
        groups.setdefault(f.partition, []).append(r)
    return sum(point_filter_depth(g) * len(g) for g in groups.values()) / len(ranges)


def point_filter_depth(ranges: Sequence[tuple[Any, Any]]) -> float:
    """How many files a point filter on a column reads on average, from per-file min/max.

    For numbers and times: the coverage of the ranges averaged over the part of the
    domain that holds data (a sweep over the range ends). 1.0 means ranges do not
    overlap (well clustered); near the file count means every filter reads every file.
    Other types, and ranges of zero width, are probed at each file's minimum.

    >>> point_filter_depth([(0, 9), (10, 19), (20, 29)])
    1.0
    >>> round(point_filter_depth([(0, 100), (0, 100), (50, 100)]), 2)
    2.5
    """
    ranges = [r for r in ranges if r[0] is not None and r[1] is not None]
    if not ranges:
        return 0.0
    numeric = [(_number(lo), _number(hi)) for lo, hi in ranges]
    if all(lo is not None and hi is not None for lo, hi in numeric):
        events = sorted([(lo, 0) for lo, _ in numeric] + [(hi, 1) for _, hi in numeric])
        covered = span = 0.0
        active, previous = 0, None
        for x, is_end in events:
            assert x is not None
            if previous is not None and active > 0:
                covered += active * (x - previous)
                span += x - previous
            active += -1 if is_end else 1
            previous = x
        if span > 0:
            return covered / span
    try:
        mins = sorted(r[0] for r in ranges)
        maxs = sorted(r[1] for r in ranges)
        # files containing v: min <= v, minus max < v
        total = sum(
            bisect.bisect_right(mins, lo) - bisect.bisect_left(maxs, lo) for lo, _ in ranges
        )
    except TypeError:  # mixed or unorderable values
        return 0.0
    return total / len(ranges)


def _number(value: Any) -> float | None:
    """A sortable number for ints, floats, decimals, dates and times; None otherwise."""
    import datetime as dt
    from decimal import Decimal

    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp() if value.tzinfo else value.replace(tzinfo=dt.UTC).timestamp()
    if isinstance(value, dt.date):
        return float(value.toordinal())
    return None
