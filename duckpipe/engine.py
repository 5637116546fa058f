"""The DuckDB connection: Arrow in, SQL, Arrow out; lake tables visible by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ModelError, ProjectError, did_you_mean

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from duckpipe.sinks.base import Sink


class Engine:
    """One DuckDB connection per run. Arrow objects are registered without copies.

    >>> import pyarrow as pa
    >>> eng = Engine()
    >>> eng.register("t", pa.table({"x": [1, 2, 3]}))
    >>> eng.arrow("select sum(x) as s from t").to_pylist()
    [{'s': 6}]
    """

    def __init__(self, database: str = ":memory:", *, threads: int | None = None) -> None:
        import duckdb

        config: dict[str, Any] = {"enable_external_access": True}
        if threads:
            config["threads"] = threads
        self.con: duckdb.DuckDBPyConnection = duckdb.connect(database, config=config)
        self._registered: dict[str, object] = {}
        self.unavailable: dict[str, Exception] = {}

    # -- names -----------------------------------------------------------------
    def register(self, name: str, data: object) -> None:
        """Make an Arrow table, reader or dataset queryable as ``name`` (replaces an older one)."""
        if name in self._registered:
            self.con.unregister(name)
        self.con.register(name, data)
        self._registered[name] = data

    def unregister(self, name: str) -> None:
        if self._registered.pop(name, None) is not None:
            self.con.unregister(name)

    def cursor(self) -> Engine:
        """A second connection to the same database, for another thread, with the same names.

        Tables and views are shared; Arrow objects are registered per connection, so the
        ones registered here are registered on the new connection too.
        """
        other = Engine.__new__(Engine)
        other.con = self.con.cursor()
        other._registered = {}
        other.unavailable = self.unavailable
        for name, data in self._registered.items():
            other.register(name, data)
        return other

    def registered(self) -> dict[str, object]:
        """The Arrow objects registered by name (a copy), e.g. to mirror them on a second connection."""
        return dict(self._registered)

    def names(self) -> list[str]:
        """Every table and view name visible to SQL."""
        rows = self.con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()
        return sorted({r[0] for r in rows} | set(self._registered))

    def attach_lake(
        self, sink: Sink, *, version_of: dict[str, int | str] | None = None
    ) -> list[str]:
        """Register every table of ``sink`` by name as a pushdown-capable Arrow dataset.

        ``version_of`` maps table names to a version number or timestamp (time travel).
        A table that has no such version is left out; a query that names it gets that error.
        """
        from duckpipe.core.errors import SinkError

        attached = []
        for table in sink.tables():
            if table.startswith("_"):
                continue
            as_of = (version_of or {}).get(table)
            kwargs: dict[str, Any] = {}
            if isinstance(as_of, int):
                kwargs["version"] = as_of
            elif isinstance(as_of, str):
                kwargs["timestamp"] = as_of
            try:
                self.register(table, sink.dataset(table, **kwargs))
            except SinkError as exc:
                if as_of is None:
                    raise
                self.unavailable[table] = exc
                continue
            attached.append(table)
        return attached

    # -- queries ---------------------------------------------------------------
    def execute(
        self, sql: str, params: list[Any] | None = None, *, where: str | None = None
    ) -> None:
        """Run a statement for its effect."""
        try:
            self.con.execute(sql, params or [])
        except Exception as exc:  # duckdb raises many error classes
            raise self._error(exc, where) from exc

    def arrow(
        self, sql: str, params: list[Any] | None = None, *, where: str | None = None
    ) -> pa.Table:
        """Run ``sql`` and return the whole result as an Arrow table."""
        try:
            if params:
                return self.con.execute(sql, params).to_arrow_table()
            return self.con.sql(sql).to_arrow_table()
        except Exception as exc:
            raise self._error(exc, where) from exc

    def reader(
        self, sql: str, *, batch_size: int = 100_000, where: str | None = None
    ) -> pa.RecordBatchReader:
        """Stream the result of ``sql`` as record batches (read it fully before the next query)."""
        try:
            return self.con.sql(sql).to_arrow_reader(batch_size)
        except Exception as exc:
            raise self._error(exc, where) from exc

    def _error(self, exc: Exception, where: str | None) -> Exception:
        import duckdb

        message = str(exc).strip()
        if isinstance(exc, duckdb.CatalogException):
            missing = _missing_name(message)
            if missing in self.unavailable:
                return self.unavailable[missing]
            hint = did_you_mean(missing, self.names()) if missing else None
            return ProjectError(
                message.splitlines()[0],
                where=where,
                hint=hint or "check the name; `duckpipe query 'show tables'` lists what exists",
            )
        return ModelError(message, where=where)

    def close(self) -> None:
        self.con.close()


def _missing_name(message: str) -> str | None:
    """The table name in DuckDB's 'Table with name X does not exist' message."""
    marker = "with name "
    if marker not in message:
        return None
    rest = message.split(marker, 1)[1]
    return rest.split(" ", 1)[0].strip("\"'")
