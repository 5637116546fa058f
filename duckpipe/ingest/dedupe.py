"""One row per primary key in a landing: the latest version of each row wins.

An extraction can carry a key twice (a query joining history, files that repeat an
update); a lake merge needs each key once. The check is one DuckDB aggregate over the
staged rows; only when it finds duplicates are the rows rewritten, keeping per key the
row with the highest watermark, else the one read last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.core.sql import quote

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

ORDINAL = "__duckpipe_ordinal"


def _connection(rows: pa.Table) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect()
    con.register("staged", rows)
    return con


def duplicate_keys(rows: pa.Table, keys: list[str]) -> int:
    """How many key values occur more than once in ``rows``."""
    if rows.num_rows < 2 or not keys:
        return 0
    con = _connection(rows)
    try:
        by = ", ".join(quote(k) for k in keys)
        found = con.sql(
            f"SELECT count(*) FROM (SELECT 1 FROM staged GROUP BY {by} HAVING count(*) > 1)"
        ).fetchall()
    finally:
        con.close()
    return int(found[0][0])


def latest_per_key(rows: pa.Table, keys: list[str], watermark: str | None) -> pa.Table:
    """``rows`` with one row per key: the highest ``watermark``, then the last read."""
    import pyarrow as pa

    numbered = rows.append_column(ORDINAL, pa.array(range(rows.num_rows), pa.int64()))
    con = _connection(numbered)
    try:
        by = ", ".join(quote(k) for k in keys)
        order = f"{quote(watermark)} DESC NULLS LAST, " if watermark else ""
        kept = con.sql(
            f"""SELECT * EXCLUDE ({ORDINAL}) FROM staged
                QUALIFY row_number() OVER (PARTITION BY {by} ORDER BY {order}{ORDINAL} DESC) = 1
                ORDER BY {ORDINAL}"""
        ).to_arrow_table()
    finally:
        con.close()
    return kept.cast(rows.schema)
