"""Facts of a Delta table from its transaction log (through deltalake) and a listing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from duckpipe.advisor.facts import (
    FileFact,
    PartitionScheme,
    TableFacts,
    Unreferenced,
    clustering_depth,
)
from duckpipe.advisor.parquet import (
    is_data_file,
    read_footers,
    row_group_facts,
    sample,
)
from duckpipe.core.errors import SinkError

if TYPE_CHECKING:
    from duckpipe.advisor.prices import Thresholds
    from duckpipe.advisor.storage import LakeLocation, ObjectInfo

_COMMIT = re.compile(r"^_delta_log/(\d{20})\.json$")
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def delta_table_facts(
    name: str,
    location: LakeLocation,
    objects: Sequence[ObjectInfo],
    thresholds: Thresholds,
    clustering_columns: set[str] | None = None,
) -> TableFacts:
    """Facts for the Delta table at ``location``; ``objects`` is its folder's listing."""
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError

    try:
        dt = DeltaTable(location.uri, storage_options=location.storage_options or None)
    except (DeltaError, OSError) as exc:
        raise SinkError(
            # the kernel appends a native backtrace: its first line is the message
            f"cannot read the Delta log: {(str(exc).strip().splitlines() or [repr(exc)])[0]}",
            where=location.uri,
            hint="check the path and the storage options (endpoint, credentials); a corrupt "
            "_delta_log must be restored from a backup or the table rewritten",
        ) from None
    partition_cols = tuple(dt.metadata().partition_columns)
    columns = tuple(f.name for f in dt.schema().fields)
    actions = _add_actions(dt)
    files = _files(actions, partition_cols)
    wanted = set(clustering_columns or ()) - set(partition_cols)
    commits = [(m.group(1), o.mtime) for o in objects if (m := _COMMIT.match(o.path))]
    return TableFacts(
        name=name,
        format="delta",
        location=location.uri,
        files=files,
        scheme=PartitionScheme(tuple((c, c, "identity") for c in partition_cols)),
        columns=columns,
        versions=max(len(commits), 1),
        oldest_version_at=min((t for _, t in commits), default=None),
        unreferenced=_unreferenced(dt, files, objects, thresholds.vacuum_retain_hours),
        row_groups=row_group_facts(
            read_footers(location, sample([f.path for f in files], thresholds.footer_sample))
        ),
        clustering={c: d for c in sorted(wanted) if (d := _depth(actions, files, c)) > 0},
        age_source="delta add.modificationTime",
    )


def _add_actions(dt: Any) -> dict[str, list[Any]]:
    import pyarrow as pa

    # through the C stream interface: pa.table() would import pandas to probe the object
    table = pa.RecordBatchReader.from_stream(dt.get_add_actions(flatten=True)).read_all()
    return {name: table.column(name).to_pylist() for name in table.column_names}


def _files(actions: dict[str, list[Any]], partition_cols: tuple[str, ...]) -> tuple[FileFact, ...]:
    paths = actions.get("path", [])
    sizes = actions["size_bytes"] if paths else []
    mtimes = actions["modification_time"] if paths else []
    rows = actions.get("num_records") or [None] * len(paths)
    parts = [actions.get(f"partition.{c}") or [None] * len(paths) for c in partition_cols]
    out = []
    for i, path in enumerate(paths):
        key = (
            "/".join(
                f"{c}={NULL_PARTITION if values[i] is None else values[i]}"
                for c, values in zip(partition_cols, parts, strict=True)
            )
            if partition_cols
            else ""
        )
        out.append(FileFact(unquote(path), sizes[i], rows[i], mtimes[i] / 1000.0, key))
    return tuple(out)


def _depth(actions: dict[str, list[Any]], files: tuple[FileFact, ...], column: str) -> float:
    mins, maxs = actions.get(f"min.{column}"), actions.get(f"max.{column}")
    if mins is None or maxs is None:
        return 0.0
    return clustering_depth(files, list(zip(mins, maxs, strict=True)))


def _unreferenced(
    dt: Any, files: tuple[FileFact, ...], objects: Sequence[ObjectInfo], retain_hours: int
) -> Unreferenced:
    """Data files in the folder the current version does not read, and what vacuum frees."""
    live = {f.path for f in files}
    sizes = {unquote(o.path): o.size for o in objects if is_data_file(o.path)}
    stale = {p: s for p, s in sizes.items() if p not in live}
    if not stale:  # nothing unreferenced: vacuum has nothing to free, skip its listing
        return Unreferenced(retain_hours=retain_hours)
    freeable = [
        unquote(p)
        for p in dt.vacuum(
            retention_hours=retain_hours,
            dry_run=True,
            enforce_retention_duration=False,
            full=True,
        )
    ]
    freed = [p for p in freeable if p in stale]
    return Unreferenced(
        files=len(stale),
        bytes=sum(stale.values()),
        freeable_files=len(freed),
        freeable_bytes=sum(stale[p] for p in freed),
        retain_hours=retain_hours,
    )
