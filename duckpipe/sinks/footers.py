"""Parquet footers, the one reader: in parallel, a few kilobytes each, None where unreadable.

A footer is read through the file's dataset fragment, which keeps it: a scan of that
fragment afterwards does not read the footer again. The sinks read footers to find
view-typed columns (``view_types``); the cost advisor reads row counts, row groups and
min/max statistics from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

FOOTER_WORKERS = 16


def read_footers(fragments: Sequence[ds.Fragment]) -> list[pq.FileMetaData | None]:
    """The footer of each Parquet fragment, ``FOOTER_WORKERS`` at a time.

    None for a fragment whose footer cannot be read (missing, truncated, not Parquet):
    the caller decides what an unreadable file means (a scan reports its own error).
    """
    if not fragments:
        return []
    with ThreadPoolExecutor(max_workers=min(FOOTER_WORKERS, len(fragments))) as pool:
        return list(pool.map(_footer, fragments))


def file_fragments(fs: pafs.FileSystem, paths: Sequence[str]) -> list[ds.ParquetFileFragment]:
    """Fragments for Parquet files at ``paths`` (filesystem paths) on ``fs``."""
    import pyarrow.dataset as pds

    parquet = pds.ParquetFileFormat()
    return [parquet.make_fragment(path, filesystem=fs) for path in paths]


def _footer(fragment: ds.Fragment) -> pq.FileMetaData | None:
    import pyarrow as pa
    import pyarrow.dataset as pds

    if not isinstance(fragment, pds.ParquetFileFragment):
        return None
    try:
        return fragment.metadata
    except (OSError, ValueError, pa.ArrowException):
        return None
