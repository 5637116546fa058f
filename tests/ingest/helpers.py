"""Shared by the ingest and sources tests: a PostgreSQL helper, a project on disk, the lake."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from duckpipe.core.console import Console
from duckpipe.ingest.metadata import METADATA_COLUMNS
from duckpipe.plan import RunOptions
from duckpipe.project import Project, load_project
from duckpipe.runner import RunReport, run_project


class Pg:
    """SQL against the test server, and unique table names so tests never collide."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def name(self, prefix: str = "t") -> str:
        return f"{prefix}_{uuid.uuid4().hex[:8]}"

    def execute(self, *statements: str) -> None:
        import adbc_driver_postgresql.dbapi as pg_dbapi

        with pg_dbapi.connect(self.uri, autocommit=True) as conn, conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)

    def table(self, sql: str) -> pa.Table:
        import adbc_driver_postgresql.dbapi as pg_dbapi

        with pg_dbapi.connect(self.uri) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table()

    def scalar(self, sql: str) -> Any:
        return self.table(sql).column(0)[0].as_py()


@pytest.fixture
def pg(postgres_service: Any) -> Pg:
    """SQL access to the session's PostgreSQL (tests using it are marked postgres)."""
    return Pg(postgres_service.uri)


def write_project(root: Path, sources: dict[str, Any], **extra: Any) -> Project:
    """A project in ``root`` with ``sources`` (and any other duckpipe.yml keys)."""
    root.mkdir(parents=True, exist_ok=True)
    config = {"name": "test", "lake": "./lake", "sources": sources, **extra}
    (root / "duckpipe.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return load_project(root)


def run(project: Project, console: Console | None = None, **options: Any) -> RunReport:
    """``duckpipe run`` on ``project`` (reloaded, so config edits apply)."""
    return run_project(load_project(project.root), RunOptions(**options), console=console)


def landed(project: Project, table: str) -> pa.Table:
    return project.open_lake().dataset(table).to_table()


def data_columns(table: pa.Table) -> pa.Table:
    """``table`` without the metadata columns."""
    return table.drop_columns([c for c in METADATA_COLUMNS if c in table.column_names])


def sorted_rows(table: pa.Table, key: str) -> list[dict[str, Any]]:
    return table.sort_by(key).to_pylist()
