"""PostgreSQL source over ADBC: a streamed ``RecordBatchReader``, incremental by watermark.

The source query is a ``table`` (``SELECT *``) or a ``query`` (wrapped as a subquery).
On an incremental run the filter ``watermark_column > bound`` is added around it. The
bound travels as a bound parameter (``$1``) into a transaction-local setting that an
InitPlan reads once, so the statement stays a plain SELECT: the driver streams it with
``COPY ... (FORMAT binary)`` in batches and the server can use an index on the column.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ConfigError, SourceError, TransientSourceError, did_you_mean
from duckpipe.core.retry import is_transient
from duckpipe.sources.base import Extraction, ExtractRange
from duckpipe.sources.pg_types import (
    DEFAULT_NUMERIC_SCALE,
    convert_batch,
    scaled_numerics,
    target_schema,
    wide_numerics,
)
from duckpipe.sources.watermarks import (
    MaxTracker,
    Watermark,
    bound_text,
    kind_of,
    parse_lookback,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import SourceConfig

SETTING = "duckpipe.watermark"
BATCH_HINT_OPTION = "adbc.postgresql.batch_size_hint_bytes"
# SQLSTATE classes and codes worth retrying: connection exceptions, operator intervention
# (admin shutdown, crash, cannot connect now), serialization failure, deadlock, resources.
_TRANSIENT_STATES = ("08", "57P01", "57P02", "57P03", "40001", "40P01", "53")
_TRANSIENT_STATUS = {10, 11, 12}  # ADBC IO, CANCELLED, TIMEOUT


def quote_ident(name: str) -> str:
    """``schema.table`` -> ``"schema"."table"``."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def source_error(exc: Exception, *, where: str) -> SourceError:
    """A driver error as a duckpipe error: transient (retried) or not, with the server's text."""
    if isinstance(exc, SourceError):
        return exc
    sqlstate = getattr(exc, "sqlstate", None) or ""
    status = getattr(exc, "status_code", None)
    message = str(exc).strip()
    lowered = message.lower()
    permanent_connect = any(
        s in lowered for s in ("authentication failed", "does not exist", "permission denied")
    )
    transient = not permanent_connect and (
        sqlstate.startswith(_TRANSIENT_STATES)
        or (not sqlstate and int(status or 0) in _TRANSIENT_STATUS)
        or (not sqlstate and is_transient(exc))
    )
    if transient:
        return TransientSourceError(message, where=where)
    hint = None
    if sqlstate.startswith("42"):
        hint = "fix the SQL of the source (table/query) or grant the user access"
    elif sqlstate.startswith("28") or "authentication failed" in lowered:
        hint = "check the user and password in the source uri"
    return SourceError(message, where=where, hint=hint)


class PostgresSource:
    """Reads a PostgreSQL table or query; the position is the watermark column's max."""

    def __init__(self, name: str, cfg: SourceConfig) -> None:
        if bool(cfg.table) == bool(cfg.query):
            raise ConfigError(
                "a postgres source needs exactly one of 'table' or 'query'",
                where=f"sources.{name}",
                hint="add table: orders, or query: SELECT ...",
            )
        self.name = name
        self.cfg = cfg
        self.where = f"sources.{name}"
        self.lookback = parse_lookback(cfg.lookback, where=f"{self.where}.lookback")
        self.numeric_scale = int(cfg.options.get("numeric_scale", DEFAULT_NUMERIC_SCALE))

    # -- plan (pure) -----------------------------------------------------------------
    def plan(self, position: dict[str, Any] | None, *, full_refresh: bool = False) -> ExtractRange:
        column = self.cfg.watermark_column
        last = None if full_refresh or not column else Watermark.from_position(position)
        if last is not None and last.column != column:
            last = None  # the watermark column changed: start over with a full load
        if last is None:
            what = "full refresh" if full_refresh else "full load"
            description = f"{what} of {self.relation_label()}"
            return ExtractRange(self.name, None, description, full_refresh, {"bound": None})
        bound = last.lower_bound(self.lookback)
        description = f"{column} > {bound}"
        if self.lookback:
            description += f" (watermark {last.value}, lookback {self.cfg.lookback})"
        return ExtractRange(
            self.name,
            last.to_position(),
            description,
            full_refresh,
            {"bound": bound_text(bound), "watermark": last.to_position()},
        )

    def relation_label(self) -> str:
        return self.cfg.table or "query"

    def relation_sql(self) -> str:
        if self.cfg.table:
            return f"SELECT * FROM {quote_ident(self.cfg.table)}"
        return str(self.cfg.query).strip().rstrip(";")

    # -- extract -----------------------------------------------------------------------
    def connect(self) -> Any:
        import adbc_driver_postgresql.dbapi as pg_dbapi

        try:
            return pg_dbapi.connect(self.cfg.uri)
        except Exception as exc:
            raise source_error(exc, where=f"{self.where} (connect)") from exc

    def extract(self, extract_range: ExtractRange) -> Extraction:
        """Run the source query; batches stream from the server as they are read."""
        import pyarrow as pa

        conn = self.connect()
        try:
            cursor = conn.cursor()
            hint = self.cfg.options.get("batch_size_hint_bytes")
            if hint:
                cursor.adbc_statement.set_options(**{BATCH_HINT_OPTION: str(int(hint))})
            described = self._describe(cursor)
            unique_on = self._unique_on(cursor)
            scaled = scaled_numerics(described) if _unique(described.names) else {}
            sql = self._select(cursor, described, scaled, extract_range.details.get("bound"))
            cursor.execute(sql)
            reader = cursor.fetch_record_batch()
        except Exception as exc:
            conn.close()
            raise source_error(exc, where=self.where) from exc
        target = target_schema(described, self.numeric_scale)
        convert = any(f.type != t.type for f, t in zip(reader.schema, target, strict=True))
        column = self.cfg.watermark_column
        tracker = MaxTracker(column) if column else None
        if tracker is not None and column:
            tracker.kind = kind_of(target.field(column).type)

        def batches() -> Any:
            try:
                while True:
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        return
                    except Exception as exc:
                        raise source_error(exc, where=self.where) from exc
                    if convert:
                        batch = convert_batch(
                            batch, target, where=self.where, scaled=frozenset(scaled)
                        )
                    if tracker is not None:
                        tracker.update(batch)
                    yield batch
            finally:
                _close(reader, cursor, conn)

        start = Watermark.from_position(extract_range.details.get("watermark"))

        def next_position() -> dict[str, Any] | None:
            if tracker is None:
                return {}
            base = start or Watermark(tracker.column, tracker.kind or "string", None)
            moved = base.advanced(tracker.value)
            return moved.to_position() if moved.value is not None else {}

        return Extraction(
            reader=pa.RecordBatchReader.from_batches(target, batches()),
            next_position=next_position,
            close=lambda: _close(reader, cursor, conn),
            unique_on=unique_on,
            warnings=tuple(
                f"{self.where}.{name}: numeric wider than 38 digits lands as its exact text "
                f"(no lake format has such a decimal); cast it in the query to narrow it"
                for name in wide_numerics(described)
            ),
        )

    def _unique_on(self, cursor: Any) -> tuple[str, ...]:
        """The primary key when a unique index of the ``table`` covers exactly its columns."""
        keys = list(self.cfg.primary_key)
        if not self.cfg.table or not keys:
            return ()
        cursor.execute(
            """SELECT array_agg(a.attname::text ORDER BY a.attname)
               FROM pg_index i JOIN pg_attribute a
                 ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
               WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL
               GROUP BY i.indexrelid""",
            parameters=(quote_ident(self.cfg.table),),
        )
        indexes = [sorted(row[0]) for row in cursor.fetchall()]
        return tuple(keys) if sorted(keys) in indexes else ()

    def _describe(self, cursor: Any) -> pa.Schema:
        """The result's columns and PostgreSQL types, without running the query."""
        described: pa.Schema = cursor.adbc_execute_schema(
            f"SELECT * FROM ({self.relation_sql()}) AS _duckpipe_src"
        )
        column = self.cfg.watermark_column
        if column and column not in described.names:
            raise SourceError(
                f"watermark column '{column}' is not in the result",
                where=f"{self.where}.watermark_column",
                hint=did_you_mean(column, described.names)
                or f"columns: {', '.join(described.names)}",
            )
        return described

    def _select(
        self, cursor: Any, described: pa.Schema, scaled: dict[str, int], bound: str | None
    ) -> str:
        """The statement to run: small numerics as scaled bigints, and with a bound, the
        watermark filter reading the bound parameter."""
        columns = "*"
        if scaled:
            columns = ", ".join(
                f"({quote_ident(n)} * 1{'0' * scaled[n]})::int8 AS {quote_ident(n)}"
                if n in scaled
                else quote_ident(n)
                for n in described.names
            )
        sql = f"SELECT {columns} FROM ({self.relation_sql()}) AS _duckpipe_src"
        column = self.cfg.watermark_column
        if not column or bound is None:
            return sql
        pg_type = _pg_type_name(described.field(column))
        cursor.execute("SELECT set_config($1, $2, true)", parameters=(SETTING, bound))
        cursor.fetchall()
        return (
            f"{sql} WHERE {quote_ident(column)} > "
            f"(SELECT CAST(current_setting('{SETTING}') AS {pg_type}))"
        )


def _unique(names: list[str]) -> bool:
    return len(set(names)) == len(names)


def _pg_type_name(field: pa.Field) -> str:
    meta = field.metadata or {}
    name = meta.get(b"POSTGRESQL:type", b"text").decode()
    return name if name.replace("_", "").isalnum() else "text"


def _close(*handles: Any) -> None:
    """Close reader, cursor and connection; a dead connection must not hide the real error."""
    for handle in handles:
        with contextlib.suppress(Exception):
            handle.close()
