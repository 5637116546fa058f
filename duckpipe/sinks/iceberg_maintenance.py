"""Iceberg table maintenance pyiceberg does not ship: bin-pack compaction and orphan clean-up.

``compact`` groups the small data files of each partition into bins near the target
size and replaces every bin with one rewritten file, all in one snapshot: readers
see either the old files or the new ones, the rows and partitioning are unchanged.
``vacuum`` expires snapshots older than the retention and deletes files that no
remaining snapshot references and that are older than the retention.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from duckpipe.sinks.base import MaintenanceResult

if TYPE_CHECKING:
    import pyarrow.fs as pafs
    from pyiceberg.table import FileScanTask, Table

COMPACT_OPERATION = "duckpipe.operation"


def compact(tbl: Table, table: str, target_size: int) -> MaintenanceResult:
    """Rewrite small files of each partition into files near ``target_size`` bytes."""
    import pyarrow as pa
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    from duckpipe.core.errors import SinkError
    from duckpipe.sinks.iceberg_catalog import sorted_rows
    from duckpipe.sinks.iceberg_scan import read_files

    result = MaintenanceResult(table, "compact")
    if tbl.current_snapshot() is None:
        return result
    tasks = list(tbl.scan().plan_files())
    if any(t.delete_files for t in tasks):
        raise SinkError(
            f"table '{table}' has delete files; compaction of merge-on-read tables is not supported",
            where=table,
        )
    groups: dict[Any, list[FileScanTask]] = defaultdict(list)
    for task in tasks:
        if task.file.file_size_in_bytes < target_size:
            groups[(task.file.spec_id, str(task.file.partition))].append(task)
    bins = [
        b
        for group in groups.values()
        if len(group) > 1
        for b in _bins(tbl, group, target_size)
        if len(b) > 1
    ]
    if not bins:
        return result
    txn = tbl.transaction()
    counter = itertools.count(0)  # one sequence across bins: file names must not repeat
    one_file = txn.table_metadata.model_copy(
        update={
            "properties": {
                **txn.table_metadata.properties,
                "write.target-file-size-bytes": str(2**62),
            }
        }
    )
    with txn.update_snapshot(
        snapshot_properties={COMPACT_OPERATION: "compact"}
    ).overwrite() as rewrite:
        for group in bins:
            rows = sorted_rows(tbl, pa.concat_tables(read_files(tbl, group)))
            for task in group:
                rewrite.delete_data_file(task.file)
                result.bytes_removed += task.file.file_size_in_bytes
            for data_file in _dataframe_to_data_files(
                one_file, rows, tbl.io, write_uuid=rewrite.commit_uuid, counter=counter
            ):
                rewrite.append_data_file(data_file)
                result.files_added += 1
            result.files_removed += len(group)
    txn.commit_transaction()
    return result


def _bins(tbl: Table, group: list[FileScanTask], target_size: int) -> list[list[FileScanTask]]:
    """Consecutive files whose rewritten size (rows x bytes per row after rewrite) fits the target.

    Small files compress worse than big ones, so input sizes overestimate the output;
    the bytes per row are measured by encoding a sample the way the rewrite will.
    """
    per_row = _rewritten_bytes_per_row(tbl, group)
    bins: list[list[FileScanTask]] = [[]]
    estimate = 0.0
    for task in sorted(group, key=lambda t: t.file.file_path):
        size = task.file.record_count * per_row
        if bins[-1] and estimate + size > target_size:
            bins.append([])
            estimate = 0.0
        bins[-1].append(task)
        estimate += size
    return bins


def _rewritten_bytes_per_row(
    tbl: Table, group: list[FileScanTask], sample_rows: int = 50_000
) -> float:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from duckpipe.sinks.iceberg_scan import read_files

    sample, rows = [], 0
    for task in group:
        sample.append(task)
        rows += task.file.record_count
        if rows >= sample_rows:
            break
    data = pa.concat_tables(read_files(tbl, sample))
    codec = tbl.properties.get("write.parquet.compression-codec", "zstd")
    sink = pa.BufferOutputStream()
    pq.write_table(data, sink, compression=None if codec == "uncompressed" else codec)
    return sink.getvalue().size / max(1, data.num_rows)


def vacuum(
    tbl: Table, table: str, fs: pafs.FileSystem, *, retention_hours: float, dry_run: bool
) -> MaintenanceResult:
    """Expire snapshots older than the retention, then delete files nothing references."""
    from duckpipe.sinks.iceberg_scan import fs_path

    cutoff_ms = int(time.time() * 1000 - retention_hours * 3_600_000)
    current = tbl.current_snapshot()
    protected = {ref.snapshot_id for ref in tbl.metadata.refs.values()}
    expired = [
        s.snapshot_id
        for s in tbl.snapshots()
        if s.timestamp_ms < cutoff_ms and s.snapshot_id not in protected and s is not current
    ]
    if expired and not dry_run:
        tbl.maintenance.expire_snapshots().by_ids(expired).commit()
        tbl = tbl.refresh()
    kept = [s for s in tbl.snapshots() if s.snapshot_id not in set(expired)]
    referenced = {fs_path(p) for p in _referenced(tbl, kept)}
    orphans = [
        (path, size)
        for path, size, mtime_ms in _listing(fs, fs_path(tbl.location()))
        if path not in referenced and mtime_ms < cutoff_ms
    ]
    if not dry_run:
        for path, _ in orphans:
            fs.delete_file(path)
    return MaintenanceResult(
        table,
        "vacuum",
        files_removed=len(orphans),
        bytes_removed=sum(size for _, size in orphans),
        snapshots_expired=len(expired),
        dry_run=dry_run,
        paths=[p for p, _ in orphans],
    )


def _referenced(tbl: Table, snapshots: list[Any]) -> set[str]:
    """Every file location the kept snapshots and the metadata log point at."""
    paths = {tbl.metadata_location, *(entry.metadata_file for entry in tbl.metadata.metadata_log)}
    paths.update(s.statistics_path for s in tbl.metadata.statistics)
    seen_manifests: set[str] = set()
    for snap in snapshots:
        paths.add(snap.manifest_list)
        for manifest in snap.manifests(tbl.io):
            if manifest.manifest_path in seen_manifests:
                continue
            seen_manifests.add(manifest.manifest_path)
            paths.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(tbl.io, discard_deleted=True):
                paths.add(entry.data_file.file_path)
    return paths


def _listing(fs: pafs.FileSystem, root: str) -> list[tuple[str, int, int]]:
    """(path, size, modified ms) of every file under ``root``."""
    import pyarrow.fs as pafs

    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    out = []
    for info in infos:
        if info.type != pafs.FileType.File:
            continue
        mtime = info.mtime.timestamp() * 1000 if info.mtime else 0
        out.append((info.path, int(info.size or 0), int(mtime)))
    return out
