"""Parquet files whose text columns were written as Arrow view types, read so pyarrow can filter them.

delta-rs MERGE, UPDATE and DELETE (deltalake 1.4 and later) write the files they
produce with ``string_view`` / ``binary_view`` columns, the types their DataFusion scan
uses, and store that Arrow schema in the file. pyarrow prunes row groups by comparing
a filter's literal (the table's ``string``) with the file's min/max statistics (of the
stored ``string_view``), and has no compare kernel for view types, so any filter on such
a column fails: "Function 'equal' has no kernel matching input types (string,
string_view)". Declaring ``string`` in the dataset schema does not help; the statistics
keep the file's type.

Read dictionary-encoded, the same columns come out as ``dictionary<string>``, which the
scan casts to the declared ``string`` before filtering. Only the view-typed columns of
the files that have them are read that way (it skips their row-group pruning and costs
a cast); every other file and column is read exactly as before.

Finding them needs each file's footer, so the first dataset of a table in a process
reads the footers of all its files (``footers.read_footers``), also of files a partition filter
would then skip. Files in a lake never change: what a footer said is remembered per
file for the life of the process, and a plain file keeps its footer in its fragment,
so the scan that follows does not read it again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from duckpipe.sinks.footers import read_footers

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

_KNOWN_LIMIT = 200_000  # files remembered before the memory is cleared
_known: dict[str, tuple[str, ...]] = {}
_lock = threading.Lock()


def readable(dataset: ds.Dataset, *, location: str) -> ds.Dataset:
    """``dataset`` with the view-typed columns of its Parquet files read as plain types.

    ``location`` names the table the fragment paths are relative to (the cache key).
    """
    import pyarrow.dataset as pds

    if not isinstance(dataset, pds.FileSystemDataset) or not _has_text(dataset.schema):
        return dataset
    fragments = list(dataset.get_fragments())
    views = _view_columns(fragments, location)
    if not any(views):
        return dataset
    formats: dict[tuple[str, ...], pds.ParquetFileFormat] = {}
    out = []
    for fragment, columns in zip(fragments, views, strict=True):
        if columns:
            if columns not in formats:
                formats[columns] = _dictionary_format(dataset.format, columns)
            fragment = formats[columns].make_fragment(
                fragment.path,
                filesystem=fragment.filesystem,
                partition_expression=fragment.partition_expression,
            )
        out.append(fragment)
    return pds.FileSystemDataset(out, dataset.schema, dataset.format, dataset.filesystem)


def _has_text(schema: pa.Schema) -> bool:
    import pyarrow as pa

    return any(
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        for t in schema.types
    )


def _view_columns(fragments: Sequence[ds.FileFragment], location: str) -> list[tuple[str, ...]]:
    """Per fragment, its top-level ``string_view`` / ``binary_view`` columns."""
    keys = [f"{location}/{f.path}" for f in fragments]
    with _lock:
        known = [_known.get(k) for k in keys]
    todo = [i for i, cols in enumerate(known) if cols is None]
    if todo:
        found = [_views_in(meta) for meta in read_footers([fragments[i] for i in todo])]
        with _lock:
            if len(_known) + len(todo) > _KNOWN_LIMIT:
                _known.clear()
            for i, cols in zip(todo, found, strict=True):
                if cols is not None:
                    _known[keys[i]] = known[i] = cols
    return [cols or () for cols in known]


def _views_in(footer: pq.FileMetaData | None) -> tuple[str, ...] | None:
    """None when the footer cannot be read: the scan reports that error as it always did."""
    import pyarrow as pa

    if footer is None:
        return None
    return tuple(
        f.name
        for f in footer.schema.to_arrow_schema()
        if pa.types.is_string_view(f.type) or pa.types.is_binary_view(f.type)
    )


def _dictionary_format(base: ds.FileFormat, columns: tuple[str, ...]) -> ds.ParquetFileFormat:
    import pyarrow.dataset as pds

    options = base.read_options if isinstance(base, pds.ParquetFileFormat) else None
    return pds.ParquetFileFormat(
        read_options=pds.ParquetReadOptions(
            dictionary_columns=list(columns),
            coerce_int96_timestamp_unit=options.coerce_int96_timestamp_unit if options else None,
        ),
        default_fragment_scan_options=base.default_fragment_scan_options,
    )
