"""An Iceberg snapshot as a pyarrow Dataset whose files carry what they are known to hold.

Each planned data file becomes a Parquet fragment with a *guarantee*: its identity
partition values and the min/max bounds of columns without nulls. When DuckDB pushes
a filter into the scan, pyarrow drops every fragment whose guarantee contradicts it,
so ``WHERE order_date = '2024-05-01'`` opens only that partition's files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs
    from pyiceberg.manifest import DataFile
    from pyiceberg.partitioning import PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.table import FileScanTask, Table


def arrow_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema duckpipe uses for an Iceberg schema (plain string/binary types)."""
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    from duckpipe.sinks.schema import plain_types

    return plain_types(schema_to_pyarrow(schema, include_field_ids=False))


def snapshot_dataset(tbl: Table, snapshot_id: int | None, fs: pafs.FileSystem) -> ds.Dataset:
    """The dataset of ``tbl`` at ``snapshot_id`` (None: an empty table without snapshots)."""
    import pyarrow.dataset as pds

    schema = _schema_at(tbl, snapshot_id)
    target = arrow_schema(schema)
    if snapshot_id is None:
        return pds.dataset(target.empty_table())
    tasks = list(tbl.scan(snapshot_id=snapshot_id).plan_files())
    if any(t.delete_files for t in tasks):
        # merge-on-read deletes (written by other engines): let pyiceberg apply them
        return pds.dataset(tbl.scan(snapshot_id=snapshot_id).to_arrow().cast(target))
    fmt = pds.ParquetFileFormat()
    specs = tbl.specs()
    fragments = [
        fmt.make_fragment(
            fs_path(t.file.file_path),
            filesystem=fs,
            partition_expression=guarantee(t.file, specs[t.file.spec_id], schema, target),
        )
        for t in tasks
    ]
    return pds.FileSystemDataset(fragments, target, fmt, fs)


def fs_path(location: str) -> str:
    """A file location as a pyarrow filesystem path (``bucket/key`` for S3)."""
    if location.startswith("file://"):
        return location[len("file://") :]
    return location.split("://", 1)[1] if "://" in location else location


def guarantee(
    file: DataFile, spec: PartitionSpec, schema: Schema, target: pa.Schema
) -> pc.Expression:
    """What every row of ``file`` satisfies: identity partition values and null-free bounds."""
    import pyarrow.compute as pc

    terms: list[pc.Expression] = []
    for i, field in enumerate(spec.fields):
        name = schema.find_column_name(field.source_id)
        if str(field.transform) != "identity" or name not in target.names:
            continue
        value = file.partition[i]
        typ = target.field(name).type
        terms.append(
            pc.field(name).is_null() if value is None else pc.field(name) == _scalar(value, typ)
        )
    nulls = file.null_value_counts or {}
    lower, upper = file.lower_bounds or {}, file.upper_bounds or {}
    for field_id in set(lower) & set(upper):
        name = schema.find_column_name(field_id)
        if name is None or name not in target.names or nulls.get(field_id, 1) != 0:
            continue
        typ = target.field(name).type
        low, high = (
            _bound(schema, field_id, lower[field_id], typ),
            _bound(schema, field_id, upper[field_id], typ),
        )
        if low is not None and high is not None:
            terms.append((pc.field(name) >= low) & (pc.field(name) <= high))
    expr = pc.scalar(True)
    for term in terms:
        expr = expr & term
    return expr


def _bound(schema: Schema, field_id: int, raw: bytes, typ: pa.DataType) -> pa.Scalar | None:
    """A min/max bound as an Arrow scalar, for the types where bounds are exact and comparable."""
    import pyarrow as pa
    from pyiceberg.conversions import from_bytes

    if not (
        pa.types.is_integer(typ)
        or pa.types.is_date32(typ)
        or pa.types.is_timestamp(typ)
        or pa.types.is_string(typ)
    ):
        return None
    value = from_bytes(schema.find_field(field_id).field_type, raw)  # type: ignore[arg-type]
    return _scalar(value, typ)


def _scalar(value: Any, typ: pa.DataType) -> pa.Scalar:
    import pyarrow as pa

    if pa.types.is_date32(typ) and isinstance(value, int):
        return pa.scalar(value, pa.int32()).cast(typ)
    if pa.types.is_timestamp(typ) and isinstance(value, int):
        return pa.scalar(value, pa.int64()).cast(typ)
    return pa.scalar(value, typ)


def _schema_at(tbl: Table, snapshot_id: int | None) -> Schema:
    if snapshot_id is not None:
        snapshot = tbl.snapshot_by_id(snapshot_id)
        if snapshot is not None and snapshot.schema_id is not None:
            return tbl.schemas()[snapshot.schema_id]
    return tbl.schema()


def read_files(
    tbl: Table, tasks: list[FileScanTask], columns: list[str] | None = None
) -> list[pa.Table]:
    """Each task's rows (projected to the current schema, or to ``columns``), one table per file."""
    from concurrent.futures import ThreadPoolExecutor

    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan

    projected = tbl.schema().select(*columns) if columns else tbl.schema()
    scan = ArrowScan(tbl.metadata, tbl.io, projected, AlwaysTrue())
    target = arrow_schema(projected)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda t: scan.to_table([t]).cast(target), tasks))
