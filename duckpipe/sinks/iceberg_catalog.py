"""The Iceberg catalog (SQLite under the project, or PostgreSQL) and table layout specs.

One SQL catalog database can hold several lakes: the catalog name is the lake root,
so ``tables()`` lists only the tables of this lake.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ConfigError, MissingDependency, SinkError
from duckpipe.sinks.partitioning import PartitionTerm, SortTerm

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table, Transaction
    from pyiceberg.transforms import Transform

CATALOG_FILE = "iceberg_catalog.db"
_catalogs: dict[tuple[str, str, tuple[tuple[str, str], ...]], SqlCatalog] = {}
_lock = threading.Lock()


def catalog_url(catalog_uri: str | None, state_dir: Path | None) -> str:
    """A SQLAlchemy URL: the configured PostgreSQL/SQLite URI, or SQLite in ``state_dir``."""
    if catalog_uri:
        scheme = catalog_uri.split("://", 1)[0]
        if scheme in ("postgresql", "postgres"):
            try:
                import psycopg  # noqa: F401
            except ImportError:
                raise MissingDependency(
                    "psycopg", "postgres-catalog", feature="an Iceberg catalog in PostgreSQL"
                ) from None
            return "postgresql+psycopg://" + catalog_uri.split("://", 1)[1]
        if scheme.startswith("postgresql+") or scheme.startswith("sqlite"):
            return catalog_uri
        raise ConfigError(
            f"unsupported Iceberg catalog URI scheme '{scheme}'",
            where="catalog.uri",
            hint="use postgresql://user:pass@host:5432/db or sqlite:////path/catalog.db",
        )
    folder = (state_dir or Path(".duckpipe")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / CATALOG_FILE}"


def open_catalog(root: str, url: str, properties: dict[str, str], namespace: str) -> SqlCatalog:
    """The catalog for lake ``root`` (cached per process: engines are not free)."""

    key = (root, url, tuple(sorted(properties.items())))
    with _lock:
        catalog = _catalogs.get(key)
        if catalog is None:
            catalog = _open_with_namespace(root, url, properties, namespace)
            _catalogs[key] = catalog
        return catalog


def _open_with_namespace(
    root: str, url: str, properties: dict[str, str], namespace: str
) -> SqlCatalog:
    """Open the catalog and make sure ``namespace`` exists.

    Several processes may open a new catalog at the same moment (two streams starting
    together): creating its tables or the namespace then races, and the loser sees a
    unique-constraint error although what it wanted now exists. Such a race is retried.
    """
    import time

    from pyiceberg.catalog.sql import SqlCatalog

    for attempt in range(5):
        try:
            catalog = SqlCatalog(root, uri=url, warehouse=root, **properties)
        except Exception as exc:
            if attempt < 4 and _is_race(exc):
                time.sleep(0.05 * (attempt + 1))
                continue
            raise SinkError(
                f"cannot open the Iceberg catalog at {url.split('@')[-1]}: {exc}",
                where="catalog.uri",
                hint="check that the database is reachable and the credentials are right",
            ) from None
        try:
            catalog.create_namespace_if_not_exists(namespace)
        except Exception as exc:
            if attempt < 4 and _is_race(exc):
                time.sleep(0.05 * (attempt + 1))
                continue
            raise
        return catalog
    raise AssertionError("unreachable")


def _is_race(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(
        marker in text
        for marker in (
            "integrityerror",
            "unique constraint",
            "already exists",
            "database is locked",
        )
    )


def transform_of(term: PartitionTerm) -> Transform[Any, Any]:
    from pyiceberg.transforms import (
        BucketTransform,
        DayTransform,
        HourTransform,
        IdentityTransform,
        MonthTransform,
        TruncateTransform,
        YearTransform,
    )

    if term.transform == "bucket":
        return BucketTransform(num_buckets=term.param or 1)
    if term.transform == "truncate":
        return TruncateTransform(width=term.param or 1)
    simple = {
        "identity": IdentityTransform,
        "year": YearTransform,
        "month": MonthTransform,
        "day": DayTransform,
        "hour": HourTransform,
    }
    return simple[term.transform]()  # type: ignore[abstract]


def term_of(transform: Transform[Any, Any], column: str) -> str:
    """The spec string (``day(ts)``) for an Iceberg partition field."""
    name = str(transform)
    if name == "identity":
        return column
    if "[" in name:  # bucket[16], truncate[4]
        fn, param = name.rstrip("]").split("[")
        return f"{fn}({param}, {column})"
    return f"{name}({column})"


def apply_layout(txn: Transaction, partitions: list[PartitionTerm], sorts: list[SortTerm]) -> None:
    """Set a new table's partition spec and sort order inside its create transaction."""
    from pyiceberg.table.sorting import NullOrder
    from pyiceberg.transforms import IdentityTransform

    if partitions:
        with txn.update_spec() as spec:
            for term in partitions:
                spec.add_field(term.column, transform_of(term), term.name)
    if sorts:
        with txn.update_sort_order() as order:
            for s in sorts:
                nulls = (
                    NullOrder.NULLS_FIRST
                    if (s.nulls_first if s.nulls_first is not None else not s.descending)
                    else NullOrder.NULLS_LAST
                )
                if s.descending:
                    order.desc(s.column, IdentityTransform(), nulls)
                else:
                    order.asc(s.column, IdentityTransform(), nulls)


def layout_strings(schema: Schema, spec: Any, order: Any) -> tuple[list[str], list[str]]:
    """Partition and sort specs of a table as the strings users write."""
    parts = [term_of(f.transform, schema.find_column_name(f.source_id) or "?") for f in spec.fields]
    sorts = []
    for f in order.fields:
        text = schema.find_column_name(f.source_id) or "?"
        if str(f.direction).lower().endswith("desc"):
            text += " desc"
        sorts.append(text)
    return parts, sorts


def sorted_rows(tbl: Table, rows: pa.Table) -> pa.Table:
    """``rows`` in the table's sort order (as every writer of the table writes them)."""
    from duckpipe.sinks.partitioning import parse_sorts, sort_table

    _, sorts = layout_strings(tbl.schema(), tbl.spec(), tbl.sort_order())
    return sort_table(rows, parse_sorts(sorts))
