"""Find the tables under a lake path with one listing.

A folder holding ``_delta_log/`` is a Delta table; a folder holding
``metadata/*.metadata.json`` is an Iceberg table; Parquet files outside both
form plain tables, one per folder above their hive-style ``col=value``
partition folders. The path may be the lake root or a single table.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field

from duckpipe.advisor.facts import TableFormat
from duckpipe.advisor.parquet import is_data_file
from duckpipe.advisor.storage import LakeLocation, ObjectInfo


@dataclass(frozen=True)
class TableRef:
    """A table found under the scanned path, with its share of the listing."""

    name: str  # relative to the scanned path; the folder name when the path is the table
    format: TableFormat
    location: LakeLocation
    objects: tuple[ObjectInfo, ...] = field(repr=False, default=())
    metadata_location: str | None = None  # Iceberg: the catalog's current metadata file


def discover(root: LakeLocation, objects: Sequence[ObjectInfo]) -> list[TableRef]:
    """Tables under ``root`` given its recursive listing ``objects``."""
    roots: dict[str, TableFormat] = {}
    for o in objects:
        parts = o.path.split("/")
        if "_delta_log" in parts:
            roots.setdefault("/".join(parts[: parts.index("_delta_log")]), "delta")
        elif o.path.endswith(".metadata.json") and len(parts) >= 2 and parts[-2] == "metadata":
            roots.setdefault("/".join(parts[:-2]), "iceberg")
    owned: dict[str, list[ObjectInfo]] = {r: [] for r in roots}
    plain: dict[str, list[ObjectInfo]] = {}
    ordered = sorted(roots, key=len, reverse=True)
    for o in objects:
        owner = next((r for r in ordered if _under(o.path, r)), None)
        if owner is not None:
            owned[owner].append(o)
        elif is_data_file(o.path):
            plain.setdefault(_plain_root(o.path), []).append(o)
    refs = [_ref(root, r, fmt, owned[r]) for r, fmt in roots.items()]
    refs += [_ref(root, r, "parquet", found) for r, found in plain.items()]
    return sorted(refs, key=lambda t: t.name)


def _under(path: str, folder: str) -> bool:
    return folder == "" or path.startswith(folder + "/")


def _plain_root(path: str) -> str:
    """The folder above a Parquet file's partition folders: ``t/a=1/b=2/f.parquet`` -> ``t``."""
    parts = path.split("/")[:-1]
    while parts and "=" in parts[-1]:
        parts.pop()
    return "/".join(parts)


def _ref(root: LakeLocation, folder: str, fmt: TableFormat, objects: list[ObjectInfo]) -> TableRef:
    start = len(folder) + 1
    rebased = (
        tuple(ObjectInfo(o.path[start:], o.size, o.mtime) for o in objects)
        if folder
        else tuple(objects)
    )
    name = folder or root.name
    return TableRef(name, fmt, root.child(folder), rebased)


def table_name_variants(name: str) -> set[str]:
    """Names a SQL model may use for a table: its relative path, and its last folder."""
    return {name, posixpath.basename(name), name.replace("/", ".")}
