"""Delta maintenance: bin-pack compaction, Z-order and vacuum over delta-rs.

delta-rs packs files by their *input* size. Many tiny files are mostly Parquet
overhead, so their rows shrink a lot once rewritten together; ``compact`` measures
that shrink on a sample and scales the size it hands delta-rs, so the files it
writes land near the size asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from duckpipe.sinks.base import MaintenanceResult

if TYPE_CHECKING:
    import pyarrow.fs as pafs
    from deltalake import CommitProperties, DeltaTable

SAMPLE_ROWS = 50_000


def compact(
    dt: DeltaTable, table: str, target_size: int, props: CommitProperties
) -> MaintenanceResult:
    from duckpipe.sinks.maintenance import check_target_size

    check_target_size(target_size, table=table)
    packing_size = int(target_size * _shrink(dt, target_size))
    metrics = dt.optimize.compact(target_size=packing_size, commit_properties=props)
    return _result(table, "compact", dt, metrics)


def zorder(
    dt: DeltaTable, table: str, columns: list[str], target_size: int, props: CommitProperties
) -> MaintenanceResult:
    import pyarrow as pa

    from duckpipe.sinks.partitioning import check_columns, parse_sorts

    check_columns(parse_sorts(columns), pa.schema(dt.schema().to_arrow()).names, table)
    metrics = dt.optimize.z_order(columns, target_size=target_size, commit_properties=props)
    return _result(table, "zorder", dt, metrics)


def vacuum(
    dt: DeltaTable,
    table: str,
    fs: pafs.FileSystem,
    base: str,
    *,
    retention_hours: float,
    dry_run: bool,
    props: CommitProperties,
) -> MaintenanceResult:
    """Delete files no version within the retention needs (the caller checked the guard)."""
    hours = int(retention_hours)
    listed = dt.vacuum(
        retention_hours=hours, dry_run=True, enforce_retention_duration=False, full=True
    )
    candidates = _existing(fs, base, listed)
    if not dry_run and candidates:
        dt.vacuum(
            retention_hours=hours,
            dry_run=False,
            enforce_retention_duration=False,
            full=True,
            commit_properties=props,
        )
        dt.update_incremental()
    return MaintenanceResult(
        table,
        "vacuum",
        version=dt.version(),
        files_removed=len(candidates),
        dry_run=dry_run,
        paths=candidates,
    )


def _shrink(dt: DeltaTable, target_size: int) -> float:
    """Input bytes per row of the small files over their bytes per row once rewritten (>= 1)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    actions = pa.table(dt.get_add_actions(flatten=True))
    small = actions.filter(pc.less(actions["size_bytes"], target_size))
    if small.num_rows < 2:
        return 1.0
    input_per_row = pc.sum(small["size_bytes"]).as_py() / max(
        1, pc.sum(small["num_records"]).as_py() or 1
    )
    sample = dt.to_pyarrow_dataset().head(SAMPLE_ROWS)
    if sample.num_rows == 0:
        return 1.0
    sink = pa.BufferOutputStream()
    pq.write_table(sample, sink, compression="snappy")
    output_per_row = sink.getvalue().size / sample.num_rows
    return max(1.0, input_per_row / output_per_row)


def _existing(fs: pafs.FileSystem, base: str, paths: list[str]) -> list[str]:
    """The vacuum candidates still present (delta-rs also lists files already deleted)."""
    import pyarrow.fs as pafs

    full = [p if p.startswith(base) or "://" in p else f"{base}/{p}" for p in paths]
    full = [p.split("://", 1)[1] if "://" in p else p for p in full]
    infos = fs.get_file_info(full) if full else []
    return sorted(i.path for i in infos if i.type == pafs.FileType.File)


def _result(
    table: str, operation: str, dt: DeltaTable, metrics: dict[str, Any]
) -> MaintenanceResult:
    dt.update_incremental()
    return MaintenanceResult(
        table,
        operation,
        version=dt.version(),
        files_removed=int(metrics.get("numFilesRemoved", 0)),
        files_added=int(metrics.get("numFilesAdded", 0)),
        metrics={k: v for k, v in metrics.items() if not isinstance(v, dict | list)},
    )
