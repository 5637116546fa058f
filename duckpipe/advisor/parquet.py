"""Parquet footers and plain (hive-partitioned) Parquet folders.

Footers are the only part of a data file the advisor reads: row counts, row
groups and per-column min/max. They are read in parallel, a few kilobytes each.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from duckpipe.advisor.facts import (
    FileFact,
    PartitionScheme,
    RowGroupFacts,
    TableFacts,
    clustering_depth,
)
from duckpipe.sinks.footers import file_fragments
from duckpipe.sinks.footers import read_footers as read_fragment_footers

if TYPE_CHECKING:
    import pyarrow.parquet as pq

    from duckpipe.advisor.prices import Thresholds
    from duckpipe.advisor.storage import LakeLocation, ObjectInfo


def is_data_file(path: str) -> bool:
    """A Parquet data file, not a marker or a hidden/underscore file."""
    parts = path.split("/")
    return path.endswith(".parquet") and not any(p[:1] in ("_", ".") for p in parts)


def hive_partition(path: str) -> str:
    """``a=1/b=x`` from ``a=1/b=x/part-0.parquet`` (values unquoted)."""
    return "/".join(unquote(p) for p in path.split("/")[:-1] if "=" in p)


def read_footers(location: LakeLocation, paths: Sequence[str]) -> list[pq.FileMetaData | None]:
    """Footers of ``paths`` (relative to ``location``); None where a file is unreadable."""
    if not paths:
        return []
    fs = location.filesystem()
    return read_fragment_footers(file_fragments(fs, [location.child(p).fs_path for p in paths]))


def sample(paths: Sequence[str], n: int) -> list[str]:
    """``n`` paths spread evenly over ``paths``."""
    if n <= 0 or not paths:
        return []
    if len(paths) <= n:
        return list(paths)
    step = len(paths) / n
    return [paths[int(i * step)] for i in range(n)]


def row_group_facts(footers: Sequence[pq.FileMetaData | None]) -> RowGroupFacts:
    sizes: list[int] = []
    files = 0
    for meta in footers:
        if meta is None:
            continue
        files += 1
        for i in range(meta.num_row_groups):
            rg = meta.row_group(i)
            sizes.append(sum(rg.column(c).total_compressed_size for c in range(rg.num_columns)))
    if not sizes:
        return RowGroupFacts(files_sampled=files)
    return RowGroupFacts(
        files_sampled=files,
        row_groups=len(sizes),
        median_bytes=int(statistics.median(sizes)),
        min_bytes=min(sizes),
        max_bytes=max(sizes),
    )


def footer_ranges(meta: pq.FileMetaData | None, columns: set[str]) -> dict[str, tuple[Any, Any]]:
    """Per-column (min, max) over all row groups of one file, for ``columns``."""
    if meta is None or not columns:
        return {}
    out: dict[str, tuple[Any, Any]] = {}
    index = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    for name in columns & set(index):
        lo = hi = None
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(index[name]).statistics
            if stats is None or not stats.has_min_max:
                lo = hi = None
                break
            lo = stats.min if lo is None else min(lo, stats.min)
            hi = stats.max if hi is None else max(hi, stats.max)
        if lo is not None:
            out[name] = (lo, hi)
    return out


def parquet_table_facts(
    name: str,
    location: LakeLocation,
    objects: Sequence[ObjectInfo],
    thresholds: Thresholds,
    clustering_columns: set[str] | None = None,
) -> TableFacts:
    """Facts for a folder of Parquet files, partitioned hive-style (``col=value/``) or not."""
    data = sorted((o for o in objects if is_data_file(o.path)), key=lambda o: o.path)
    paths = [o.path for o in data]
    every = len(paths) <= thresholds.parquet_footer_limit
    read = paths if every else sample(paths, max(thresholds.footer_sample, 1))
    footers = dict(zip(read, read_footers(location, read), strict=True))
    rows_per_byte = _rows_per_byte(data, footers)
    files = []
    for o in data:
        meta = footers.get(o.path)
        rows = meta.num_rows if meta is not None else None
        if rows is None and not every and rows_per_byte is not None:
            rows = round(o.size * rows_per_byte)
        files.append(FileFact(o.path, o.size, rows, o.mtime, hive_partition(o.path)))
    first = next((m for m in footers.values() if m is not None), None)
    partition_cols = (
        tuple(p.split("=", 1)[0] for p in files[0].partition.split("/"))
        if (files and files[0].partition)
        else ()
    )
    columns = tuple(first.schema.names) if first is not None else ()
    wanted = set(clustering_columns or ()) - set(partition_cols)
    per_file = [footer_ranges(footers.get(p), wanted) for p in paths] if every else []
    clustering = {
        c: d
        for c in sorted(wanted)
        if (d := clustering_depth(files, [r.get(c) for r in per_file])) > 0
    }
    return TableFacts(
        name=name,
        format="parquet",
        location=location.uri,
        files=tuple(files),
        scheme=PartitionScheme(tuple((c, c, "identity") for c in partition_cols)),
        columns=columns + tuple(c for c in partition_cols if c not in columns),
        row_groups=row_group_facts(list(footers.values())),
        clustering=clustering,
        age_source="object last-modified",
        rows_estimated=not every,
    )


def _rows_per_byte(
    data: Sequence[ObjectInfo], footers: dict[str, pq.FileMetaData | None]
) -> float | None:
    sizes = {o.path: o.size for o in data}
    rows = sum(m.num_rows for m in footers.values() if m is not None)
    size = sum(sizes[p] for p, m in footers.items() if m is not None)
    return rows / size if size else None
