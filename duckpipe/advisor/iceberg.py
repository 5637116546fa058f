"""Facts of an Iceberg table from its metadata file and manifests (through pyiceberg)."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, unquote_plus

from duckpipe.advisor.facts import (
    FileFact,
    PartitionScheme,
    TableFacts,
    Unreferenced,
    clustering_depth,
)
from duckpipe.advisor.parquet import read_footers, row_group_facts, sample
from duckpipe.core.errors import SinkError

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from duckpipe.advisor.prices import Thresholds
    from duckpipe.advisor.storage import LakeLocation, ObjectInfo
    from duckpipe.project import Project

_METADATA = re.compile(r"^metadata/(?:v(\d+)|(\d+)-[^/]*)\.metadata\.json$")


def latest_metadata(objects: Sequence[ObjectInfo]) -> str | None:
    """The newest ``metadata/*.metadata.json`` of a table folder, by version number.

    ``version-hint.text`` is not needed: catalogs name metadata files
    ``NNNNN-<uuid>.metadata.json`` (or ``vN.metadata.json``) with increasing numbers.
    """
    best: tuple[int, float, str] | None = None
    for o in objects:
        m = _METADATA.match(o.path)
        if m:
            key = (int(m.group(1) or m.group(2)), o.mtime, o.path)
            best = key if best is None or key > best else best
    return best[2] if best else None


def catalog_metadata(project: Project, names: Sequence[str]) -> dict[str, str]:
    """Current metadata files of ``names`` in the project's Iceberg catalog, where it has them.

    The catalog, not the newest file in ``metadata/``, says which metadata is current
    (a failed commit can leave a newer, uncommitted file). A catalog that does not
    exist yet is not created.
    """
    from duckpipe.sinks import open_sink
    from duckpipe.sinks.iceberg_catalog import CATALOG_FILE

    config = project.config
    if config.catalog.uri is None and not (project.state_dir / CATALOG_FILE).is_file():
        return {}
    sink: Any = open_sink(
        project.lake_uri,
        format="iceberg",
        storage_options=config.storage_options,
        catalog=config.catalog,
        state_dir=project.state_dir,
    )
    found = {}
    for name in names:
        try:
            found[name] = sink.catalog.load_table((sink.namespace, name)).metadata_location
        except Exception:  # not in the catalog: fall back to the newest metadata file
            continue
    return found


def load_table(location: LakeLocation, metadata_location: str) -> Table:
    from pyiceberg.table import StaticTable

    try:
        return StaticTable.from_metadata(metadata_location, location.iceberg_properties())
    except Exception as exc:  # pyiceberg raises I/O, JSON and its own validation errors
        raise SinkError(
            f"cannot read Iceberg metadata: {exc}",
            where=metadata_location,
            hint="check the path and the storage options (endpoint, credentials)",
        ) from None


def iceberg_table_facts(
    name: str,
    location: LakeLocation,
    objects: Sequence[ObjectInfo],
    thresholds: Thresholds,
    clustering_columns: set[str] | None = None,
    metadata_location: str | None = None,
) -> TableFacts:
    """Facts for the Iceberg table in ``location``; ``objects`` is its folder's listing."""
    if metadata_location is None:
        relative = latest_metadata(objects)
        if relative is None:
            raise SinkError("no Iceberg metadata file", where=location.uri)
        metadata_location = location.child(relative).uri
        if not location.is_remote:
            metadata_location = "file://" + metadata_location
    table = load_table(location, metadata_location)
    prefix = (_prefix(table.metadata.location), location.fs_path.rstrip("/") + "/")
    reader = _ManifestReader(table, prefix)
    mtimes = {unquote(o.path): o.mtime for o in objects}
    snapshot_times = {s.snapshot_id: s.timestamp_ms / 1000.0 for s in table.metadata.snapshots}
    current = table.current_snapshot()
    entries = reader.entries(current) if current else []
    schema = table.schema()
    files = []
    for entry in entries:
        df = entry.data_file
        path = _relative(df.file_path, prefix)
        modified = snapshot_times.get(entry.snapshot_id) or mtimes.get(path, 0.0)
        spec = table.specs()[df.spec_id]
        key = unquote_plus(spec.partition_to_path(df.partition, schema)) if spec.fields else ""
        files.append(FileFact(path, df.file_size_in_bytes, df.record_count, modified, key))
    spec = table.spec()
    scheme = PartitionScheme(
        tuple(
            (f.name, schema.find_column_name(f.source_id) or f.name, _transform_name(f.transform))
            for f in spec.fields
        )
    )
    wanted = set(clustering_columns or ()) - set(scheme.names)
    snapshots = table.metadata.snapshots
    return TableFacts(
        name=name,
        format="iceberg",
        location=location.uri,
        files=tuple(files),
        scheme=scheme,
        columns=tuple(f.name for f in schema.fields),
        versions=max(len(snapshots), 1),
        oldest_version_at=min((s.timestamp_ms / 1000.0 for s in snapshots), default=None),
        unreferenced=_unreferenced(table, reader, files, objects, thresholds.vacuum_retain_hours),
        row_groups=row_group_facts(
            read_footers(location, sample([f.path for f in files], thresholds.footer_sample))
        ),
        clustering=_clustering(table, entries, files, wanted),
        age_source="iceberg snapshot commit time",
        sort_order=tuple(
            schema.find_column_name(f.source_id) or "" for f in table.sort_order().fields
        ),
    )


class _ManifestReader:
    """Reads each manifest once, however many snapshots share it."""

    def __init__(self, table: Table, prefix: tuple[str, ...]) -> None:
        self.table = table
        self.prefix = prefix
        self.cache: dict[str, list[Any]] = {}
        self.path_cache: dict[str, frozenset[str]] = {}

    def manifests(self, snapshot: Any) -> list[Any]:
        from pyiceberg.manifest import ManifestContent

        return [m for m in snapshot.manifests(self.table.io) if m.content == ManifestContent.DATA]

    def entries_of(self, manifest: Any) -> list[Any]:
        if manifest.manifest_path not in self.cache:
            self.cache[manifest.manifest_path] = manifest.fetch_manifest_entry(
                self.table.io, discard_deleted=True
            )
        return self.cache[manifest.manifest_path]

    def entries(self, snapshot: Any) -> list[Any]:
        return [e for m in self.manifests(snapshot) for e in self.entries_of(m)]

    def paths_of(self, manifest: Any) -> frozenset[str]:
        """Data file paths of a manifest, relative to the table folder."""
        if manifest.manifest_path not in self.path_cache:
            self.path_cache[manifest.manifest_path] = frozenset(
                _relative(e.data_file.file_path, self.prefix) for e in self.entries_of(manifest)
            )
        return self.path_cache[manifest.manifest_path]


def _unreferenced(
    table: Table,
    reader: _ManifestReader,
    files: list[FileFact],
    objects: Sequence[ObjectInfo],
    retain_hours: int,
) -> Unreferenced:
    """Data files the current snapshot does not read, and what vacuum would free.

    Vacuum expires snapshots older than ``retain_hours`` (never the current one or one
    a branch or tag points at), then deletes files older than ``retain_hours`` that no
    remaining snapshot references.
    """
    live = {f.path for f in files}
    data = {unquote(o.path): o for o in objects if not o.path.startswith("metadata/")}
    stale = {p: o for p, o in data.items() if p not in live}
    cutoff = time.time() - retain_hours * 3600
    current = table.current_snapshot()
    protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
    if current is not None:
        protected.add(current.snapshot_id)
    kept: set[str] = set(live)
    if stale:  # only then do older snapshots matter
        manifests = {
            m.manifest_path: m
            for snapshot in table.metadata.snapshots
            if snapshot.snapshot_id in protected or snapshot.timestamp_ms / 1000.0 >= cutoff
            for m in reader.manifests(snapshot)
        }
        for manifest in manifests.values():
            kept |= reader.paths_of(manifest)
    freed = [p for p, o in stale.items() if p not in kept and o.mtime < cutoff]
    return Unreferenced(
        files=len(stale),
        bytes=sum(o.size for o in stale.values()),
        freeable_files=len(freed),
        freeable_bytes=sum(stale[p].size for p in freed),
        retain_hours=retain_hours,
    )


def _clustering(
    table: Table, entries: list[Any], files: list[FileFact], columns: set[str]
) -> dict[str, float]:
    from pyiceberg.conversions import from_bytes
    from pyiceberg.types import PrimitiveType

    schema = table.schema()
    out = {}
    for column in sorted(columns):
        try:
            field = schema.find_field(column)
        except ValueError:
            continue
        if not isinstance(field.field_type, PrimitiveType):
            continue
        ranges: list[tuple[Any, Any] | None] = []
        for entry in entries:
            lower = (entry.data_file.lower_bounds or {}).get(field.field_id)
            upper = (entry.data_file.upper_bounds or {}).get(field.field_id)
            ranges.append(
                None
                if lower is None or upper is None
                else (from_bytes(field.field_type, lower), from_bytes(field.field_type, upper))
            )
        if (depth := clustering_depth(files, ranges)) > 0:
            out[column] = depth
    return out


def _transform_name(transform: Any) -> str:
    text = str(transform)
    return text.lower() if "[" not in text else text.lower().replace(" ", "")


def _prefix(table_location: str) -> str:
    return _strip_scheme(table_location).rstrip("/") + "/"


def _relative(file_path: str, prefixes: tuple[str, ...]) -> str:
    """The path of a data file relative to the table folder."""
    path = _strip_scheme(file_path)
    for prefix in prefixes:
        if path.startswith(prefix):
            return unquote(path[len(prefix) :])
    return unquote(path)


def _strip_scheme(uri: str) -> str:
    for scheme in ("file://", "s3://", "s3a://"):
        if uri.startswith(scheme):
            return uri[len(scheme) :]
    return uri
