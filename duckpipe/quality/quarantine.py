"""Failing rows of row-level checks, kept in the lake table ``_quarantine/<dataset>``.

One row per failing row and check: the run id, dataset, check name, its outcome and
location, when it was quarantined, and the row itself as JSON (datasets change
shape over time and a failed-rows query may select any columns, so the row is
stored as one JSON text column rather than as the dataset's own schema).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import QualityError, SinkError, did_you_mean
from duckpipe.quality.checker import strip_sql

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from duckpipe.quality.results import CheckResult
    from duckpipe.sinks.base import Sink

PREFIX = "_quarantine/"
COLUMNS = ("run_id", "dataset", "check", "outcome", "location", "quarantined_at", "row")


def quarantine_table(dataset: str) -> str:
    """The lake table holding ``dataset``'s quarantined rows."""
    return PREFIX + dataset


def failed_rows(
    con: duckdb.DuckDBPyConnection, results: list[CheckResult], run_id: str
) -> pa.Table | None:
    """Every failing row of the non-passing row-level checks in ``results`` (None when there are none)."""
    import pyarrow as pa

    parts = []
    now = datetime.now(UTC)
    for result in results:
        if result.passed or result.failing_sql is None:
            continue
        rows = con.sql(
            f"select to_json(failing) as row from ({strip_sql(result.failing_sql)}) as failing"
        ).to_arrow_table()
        n = rows.num_rows
        if n == 0:
            continue
        constants = (run_id, result.dataset, result.name, result.outcome, result.location)
        columns: list[pa.Array] = [pa.array([value] * n, pa.string()) for value in constants]
        columns.append(pa.array([now] * n, pa.timestamp("us", tz="UTC")))
        columns.append(rows.column("row").cast(pa.string()).combine_chunks())
        parts.append(pa.Table.from_arrays(columns, names=list(COLUMNS)))
    return pa.concat_tables(parts) if parts else None


def quarantine(
    con: duckdb.DuckDBPyConnection, lake: Sink, results: list[CheckResult], run_id: str
) -> int:
    """Append the failing rows of ``results`` to their dataset's quarantine table; the row count."""
    table = failed_rows(con, results, run_id)
    if table is None:
        return 0
    dataset = results[0].dataset
    lake.write(quarantine_table(dataset), table, mode="append")
    return table.num_rows


def quarantined(lake: Sink, check: str, *, dataset: str | None = None) -> list[dict[str, Any]]:
    """The rows ``check`` quarantined in the latest run that quarantined any for it.

    Each row is the failing row's own columns plus ``_run_id`` and ``_dataset``.
    """
    import pyarrow.compute as pc

    tables = [quarantine_table(dataset)] if dataset else _quarantine_tables(lake)
    found = []
    names: set[str] = set()
    for table in tables:
        if not lake.exists(table):
            continue
        data = lake.dataset(table).to_table()
        names.update(data.column("check").to_pylist())
        found.append(data.filter(pc.equal(data.column("check"), check)))
    hits = [t for t in found if t.num_rows]
    if not hits:
        raise QualityError(
            f"no quarantined rows for check '{check}'",
            hint=did_you_mean(check, names)
            or (f"checks with quarantined rows: {', '.join(sorted(names))}" if names else None)
            or "only failing row-level checks (missing, invalid, duplicate, reference, "
            "failed rows) quarantine rows",
        )
    latest = max(max(t.column("quarantined_at").to_pylist()) for t in hits)
    rows = []
    for t in hits:
        for record in t.to_pylist():
            if record["quarantined_at"] == latest:
                row = json.loads(record["row"])
                rows.append({**row, "_dataset": record["dataset"], "_run_id": record["run_id"]})
    return rows


def _quarantine_tables(lake: Sink) -> list[str]:
    try:
        return [t for t in lake.tables() if t.startswith(PREFIX)]
    except SinkError as exc:
        raise QualityError(
            "cannot list the quarantine tables of this lake",
            hint="name the dataset with -s DATASET",
        ) from exc
