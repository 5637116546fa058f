"""What duckpipe reads off an open Delta table: its Arrow schema, its files as a dataset
that filters on every column, and the sort order duckpipe keeps in its configuration.

The sink and its merge strategies both stand on these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

SORT_BY_KEY = "duckpipe.sortBy"


def arrow_schema(dt: DeltaTable) -> pa.Schema:
    import pyarrow as pa

    return pa.schema(dt.schema().to_arrow())


def readable_dataset(dt: DeltaTable) -> ds.Dataset:
    """The table's files as a pyarrow dataset that filters on every column (see view_types)."""
    from duckpipe.sinks.view_types import readable

    return readable(dt.to_pyarrow_dataset(), location=dt.table_uri)


def table_sort_by(dt: DeltaTable) -> list[str]:
    """The ``sort_by`` the table was created with (its rows are written in that order)."""
    raw = dt.metadata().configuration.get(SORT_BY_KEY)
    return [s for s in raw.split(",") if s] if raw else []
