"""Generated lakes with known problems, written through deltalake / pyiceberg / pyarrow.

Many-file tables are written cheaply: small Parquet files straight to storage, then
committed in batches as one Delta transaction (``create_write_transaction``) or one
Iceberg append (``add_files``) per batch. Every helper returns the exact sizes it
wrote so tests can assert counts and byte totals.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

DAY_MS = 86_400_000
SCHEMA = pa.schema([("id", pa.int64()), ("value", pa.float64()), ("note", pa.string())])


@dataclass
class Written:
    """What a generator wrote: live data files (relative path -> bytes), per partition."""

    uri: str
    files: dict[str, int] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)
    rows: int = 0

    @property
    def bytes(self) -> int:
        return sum(self.files.values())

    def add(self, path: str, size: int, partition: str, rows: int) -> None:
        self.files[path] = size
        self.partitions[partition] = self.partitions.get(partition, 0) + size
        self.rows += rows


def parquet_bytes(first_id: int, rows: int, *, pad: int = 0) -> bytes:
    """A small Parquet file of ``rows`` rows with ids from ``first_id``; ``pad`` adds
    incompressible bytes per row (random-looking notes) to reach a size."""
    ids = pa.array(range(first_id, first_id + rows), pa.int64())
    notes = pa.array([os.urandom(pad).hex() if pad else "x" for _ in range(rows)], pa.string())
    table = pa.table(
        [ids, pa.array([i * 0.5 for i in range(rows)], pa.float64()), notes], schema=SCHEMA
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="none" if pad else "snappy")
    return sink.getvalue()


def split_uri(uri: str, s3: Any | None = None) -> tuple[pafs.FileSystem, str]:
    if uri.startswith("s3://"):
        assert s3 is not None, "pass the S3 service for s3:// lakes"
        return s3.pyarrow_filesystem(), uri[len("s3://") :]
    return pafs.LocalFileSystem(), uri


def write_file(fs: pafs.FileSystem, path: str, data: bytes) -> None:
    parent = path.rsplit("/", 1)[0]
    fs.create_dir(parent, recursive=True)
    with fs.open_output_stream(path) as out:
        out.write(data)


def delta_many_files(
    uri: str,
    n_files: int,
    *,
    rows_per_file: int = 10,
    partitions: Sequence[str] = (),
    partition_column: str = "part",
    modified_ms: int | None = None,
    batch: int = 10_000,
    storage_options: dict[str, str] | None = None,
    s3: Any | None = None,
    same_bytes: bool = False,
    pad: Callable[[int], int] | None = None,
) -> Written:
    """A Delta table of ``n_files`` small files committed in batches of ``batch`` files.

    Files are spread round-robin over ``partitions`` (a column ``partition_column``).
    ``modified_ms`` sets every add action's modificationTime (data age). With
    ``same_bytes`` every file holds the same rows (fast for huge counts); ``pad(i)``
    gives file ``i`` that many incompressible bytes per row.
    """
    from deltalake import DeltaTable
    from deltalake.transaction import AddAction

    fs, base = split_uri(uri, s3)
    schema = SCHEMA.append(pa.field(partition_column, pa.string())) if partitions else SCHEMA
    part_by = [partition_column] if partitions else None
    DeltaTable.create(uri, schema, partition_by=part_by, storage_options=storage_options)
    written = Written(uri)
    stamp = modified_ms if modified_ms is not None else int(time.time() * 1000)
    shared = parquet_bytes(0, rows_per_file) if same_bytes else b""
    actions: list[Any] = []
    for i in range(n_files):
        part = partitions[i % len(partitions)] if partitions else ""
        folder = f"{partition_column}={part}/" if partitions else ""
        rel = f"{folder}part-{i:06d}.parquet"
        first = 0 if same_bytes else i * rows_per_file
        data = shared or parquet_bytes(first, rows_per_file, pad=pad(i) if pad else 0)
        write_file(fs, f"{base}/{rel}", data)
        written.add(rel, len(data), folder.rstrip("/"), rows_per_file)
        stats = {
            "numRecords": rows_per_file,
            "minValues": {"id": first},
            "maxValues": {"id": first + rows_per_file - 1},
            "nullCount": {"id": 0},
        }
        actions.append(
            AddAction(
                rel,
                len(data),
                {partition_column: part} if partitions else {},
                stamp,
                True,
                json.dumps(stats),
            )
        )
        if len(actions) == batch or i == n_files - 1:
            dt = DeltaTable(uri, storage_options=storage_options)
            dt.create_write_transaction(actions, "append", schema, part_by)
            actions = []
    return written


def delta_overwrites(path: str, versions: int, rows: int = 200) -> Written:
    """A Delta table overwritten ``versions`` times: every older file stays unreferenced."""
    from deltalake import DeltaTable, write_deltalake

    for v in range(versions):
        table = pa.table({"id": pa.array(range(v * rows, (v + 1) * rows), pa.int64())})
        write_deltalake(path, table, mode="overwrite")
    written = Written(path)
    dt = DeltaTable(path)
    for rel in dt.file_uris():
        rel = os.path.relpath(rel, path)
        written.add(rel, os.path.getsize(os.path.join(path, rel)), "", rows)
    return written


def iceberg_catalog(warehouse: str, db: Path, properties: dict[str, str] | None = None) -> Any:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("lake", uri=f"sqlite:///{db}", warehouse=warehouse, **(properties or {}))
    catalog.create_namespace_if_not_exists("ns")
    return catalog


def iceberg_hourly(catalog: Any, name: str, hours: int, rows_per_hour: int) -> Written:
    """An Iceberg table partitioned by hour(ts), one small file per hour."""
    import datetime as dt

    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.transforms import HourTransform
    from pyiceberg.types import LongType, NestedField, TimestampType

    schema = Schema(
        NestedField(1, "id", LongType(), required=False),
        NestedField(2, "ts", TimestampType(), required=False),
    )
    spec = PartitionSpec(PartitionField(2, 1000, HourTransform(), "ts_hour"))
    table = catalog.create_table(f"ns.{name}", schema=schema, partition_spec=spec)
    start = dt.datetime(2024, 1, 1)
    n = hours * rows_per_hour
    stamps = [start + dt.timedelta(minutes=60 * i / rows_per_hour) for i in range(n)]
    table.append(
        pa.table(
            {
                "id": pa.array(range(n), pa.int64()),
                "ts": pa.array(stamps, pa.timestamp("us")),
            }
        )
    )
    return iceberg_written(table)


def iceberg_written(table: Any) -> Written:
    """The live files of an Iceberg table as ``Written`` (paths relative to its location)."""
    location = table.metadata.location.split("://", 1)[-1].rstrip("/") + "/"
    written = Written(table.metadata.location)
    spec = table.spec()
    for task in table.scan().plan_files():
        df = task.file
        rel = df.file_path.split("://", 1)[-1][len(location) :]
        key = spec.partition_to_path(df.partition, table.schema()) if spec.fields else ""
        written.add(rel, df.file_size_in_bytes, key, df.record_count)
    return written


def iceberg_add_files(
    table: Any,
    uri: str,
    n_files: int,
    *,
    batch: int,
    rows_per_file: int = 10,
    s3: Any | None = None,
) -> Written:
    """``n_files`` small Parquet files under ``<uri>/data`` added to ``table`` in batches."""
    fs, base = split_uri(uri, s3)
    data = parquet_bytes(0, rows_per_file)
    paths: list[str] = []
    for i in range(n_files):
        rel = f"data/added-{i:06d}.parquet"
        write_file(fs, f"{base}/{rel}", data)
        paths.append(f"{uri}/{rel}")
        if len(paths) == batch or i == n_files - 1:
            table.add_files(paths)
            paths = []
    return iceberg_written(table)


def hive_parquet(
    root: Path,
    days: int,
    files_per_day: int,
    rows: int = 20,
    pad: Callable[[int], int] | None = None,
) -> Written:
    """A plain Parquet folder partitioned hive-style by ``day=YYYY-MM-DD``; ``pad(day)`` as in
    ``parquet_bytes``."""
    written = Written(str(root))
    for d in range(days):
        folder = f"day=2024-01-{d + 1:02d}"
        for f in range(files_per_day):
            rel = f"{folder}/part-{f:03d}.parquet"
            data = parquet_bytes((d * files_per_day + f) * rows, rows, pad=pad(d) if pad else 0)
            write_file(pafs.LocalFileSystem(), f"{root}/{rel}", data)
            written.add(rel, len(data), folder, rows)
    return written


def age_files(root: Path, days: float) -> None:
    """Set every file's modification time ``days`` into the past."""
    stamp = time.time() - days * 86_400
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (stamp, stamp))
