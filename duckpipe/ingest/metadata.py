"""The metadata columns every landed row carries: when, from where, by which run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

METADATA_COLUMNS = ("_extracted_at", "_source", "_run_id")


def metadata_fields() -> list[pa.Field]:
    import pyarrow as pa

    return [
        pa.field("_extracted_at", pa.timestamp("us", tz="UTC")),
        pa.field("_source", pa.string()),
        pa.field("_run_id", pa.string()),
    ]


def without_metadata(schema: pa.Schema) -> pa.Schema:
    """``schema`` without the metadata columns (the source's own columns)."""
    import pyarrow as pa

    return pa.schema([f for f in schema if f.name not in METADATA_COLUMNS])


class MetadataColumns:
    """Appends ``_extracted_at``, ``_source`` and ``_run_id`` to each batch (constant columns).

    ``_extracted_at`` is the moment the extraction started, the same for every row of a run.
    """

    def __init__(self, source: str, run_id: str, extracted_at: datetime | None = None) -> None:
        import pyarrow as pa

        self.values = [
            pa.scalar(extracted_at or datetime.now(UTC), pa.timestamp("us", tz="UTC")),
            pa.scalar(source, pa.string()),
            pa.scalar(run_id, pa.string()),
        ]

    def schema(self, schema: pa.Schema) -> pa.Schema:
        import pyarrow as pa

        return pa.schema([*without_metadata(schema), *metadata_fields()])

    def extend(self, table: pa.Table) -> pa.Table:
        """``table`` with the metadata columns, as slices of one constant array per column.

        The constants are not copied per row, so a staged table of any size costs only the
        longest chunk's worth of memory for them.
        """
        import pyarrow as pa

        base = table.drop_columns([c for c in METADATA_COLUMNS if c in table.column_names])
        lengths = [len(chunk) for chunk in base.column(0).chunks] if base.num_columns else []
        longest = max(lengths, default=0)
        for field, value in zip(metadata_fields(), self.values, strict=True):
            constant = pa.repeat(value, longest)
            chunks = [constant.slice(0, n) for n in lengths]
            base = base.append_column(field, pa.chunked_array(chunks, type=field.type))
        return base

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        import pyarrow as pa

        keep = [i for i, name in enumerate(batch.schema.names) if name not in METADATA_COLUMNS]
        arrays = [batch.column(i) for i in keep]
        arrays += [pa.repeat(value, batch.num_rows) for value in self.values]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema(batch.schema))
