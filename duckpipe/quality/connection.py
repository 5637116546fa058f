"""A DuckDB connection for checks: the run's names, with a dataset's name bound to its staged data.

Checks are written for ``orders``; during write-audit-publish they must read the
staged, not yet published ``orders``. The checks run on a second connection to the
run's database (``engine.con.cursor()``): it sees the run's tables and views, gets
every Arrow object the engine registered, and in it the dataset's name is bound to
the staged relation. The engine's own names are never touched, so a blocked
publish leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from duckpipe.core.sql import quote

if TYPE_CHECKING:
    import duckdb

    from duckpipe.engine import Engine


@contextmanager
def checks_connection(
    engine: Engine, dataset: str | None = None, staged: str | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection where ``dataset`` reads ``staged`` (when both are given) and all else is as in ``engine``."""
    con = engine.con.cursor()
    try:
        registered = engine.registered()
        for name, data in registered.items():
            if name != dataset:
                con.register(name, data)
        if dataset and staged and staged != dataset:
            _bind(con, engine, dataset, staged, registered)
        elif dataset and dataset in registered:
            con.register(dataset, registered[dataset])
        yield con
    finally:
        con.close()


def _bind(
    con: duckdb.DuckDBPyConnection,
    engine: Engine,
    dataset: str,
    staged: str,
    registered: dict[str, object],
) -> None:
    import pyarrow as pa

    data = registered.get(staged)
    if isinstance(data, pa.RecordBatchReader):
        # a reader can be scanned once; checks scan it several times
        data = data.read_all()
        engine.register(staged, data)
    if data is not None:
        con.register(dataset, data)
        return
    if _visible_as_view(con, dataset, staged):
        return
    # a temporary table of the engine's connection, or a view that reads the dataset's own
    # published name (an incremental model): check a materialized copy
    con.register(dataset, engine.arrow(f"select * from {quote(staged)}"))


def _visible_as_view(con: duckdb.DuckDBPyConnection, dataset: str, staged: str) -> bool:
    import duckdb

    try:
        con.execute(
            f"create or replace temp view {quote(dataset)} as select * from {quote(staged)}"
        )
        con.execute(f"select * from {quote(dataset)} limit 0")
        return True
    except duckdb.Error:
        with suppress(duckdb.Error):
            con.execute(f"drop view if exists temp.main.{quote(dataset)}")
        return False
