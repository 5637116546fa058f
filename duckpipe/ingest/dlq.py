"""The dead letter queue: rows a contract rejected, kept in the lake at ``_dlq/<source>``.

Each record holds the reason, the column, the source, the run id, the time and the
row's raw values as a JSON object. ``dlq_id`` is a hash of the source and the raw
values, so the same rejected row is stored once however often it is re-extracted
(a rerun after a crash, a replay that still fails).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from duckpipe.ingest.contracts import COLUMN, REASON

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from duckpipe.sinks.base import CommitResult, Sink

DLQ_PREFIX = "_dlq"


def dlq_table(source: str) -> str:
    """The lake table holding the dead letters of ``source``."""
    return f"{DLQ_PREFIX}/{source}"


def dlq_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("dlq_id", pa.string()),
            pa.field("source", pa.string()),
            pa.field("run_id", pa.string()),
            pa.field("failed_at", pa.timestamp("us", tz="UTC")),
            pa.field("reason", pa.string()),
            pa.field("column_name", pa.string()),
            pa.field("raw", pa.string()),
        ]
    )


class DeadLetters:
    """The rows one run rejected, as DLQ records (compact: the raw values are one JSON string)."""

    def __init__(self, source: str, run_id: str) -> None:
        self.source = source
        self.run_id = run_id
        self.parts: list[pa.Table] = []
        self.reasons: Counter[str] = Counter()
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def rows(self) -> int:
        return sum(p.num_rows for p in self.parts)

    def add(self, bad: pa.Table) -> None:
        """Record ``bad`` (a contract's rejected rows with their reason and column)."""
        import duckdb

        if bad.num_rows == 0:
            return
        if self._con is None:
            self._con = duckdb.connect(config={"threads": 1})
        values = [c for c in bad.column_names if c not in (REASON, COLUMN)]
        row = "to_json(struct_pack(" + ", ".join(f'"{c}" := "{c}"' for c in values) + "))::VARCHAR"
        self._con.register("_bad", bad)
        try:
            records = self._con.sql(
                f"""
                SELECT md5($source || '|' || {row}) AS dlq_id, $source AS source,
                       $run_id AS run_id, $now AS failed_at, "{REASON}" AS reason,
                       "{COLUMN}" AS column_name, {row} AS raw
                FROM _bad
                """,
                params={"source": self.source, "run_id": self.run_id, "now": datetime.now(UTC)},
            ).to_arrow_table()
        finally:
            self._con.unregister("_bad")
        self.parts.append(records.cast(dlq_schema()))
        self.reasons.update(bad.column(REASON).to_pylist())

    def table(self) -> pa.Table:
        import pyarrow as pa

        if not self.parts:
            return dlq_schema().empty_table()
        return pa.concat_tables(self.parts).combine_chunks()

    def summary(self) -> str:
        """``"3 rows: 2 x required field 'id' is null; 1 x ..."``."""
        parts = "; ".join(f"{n} x {reason}" for reason, n in self.reasons.most_common())
        return f"{self.rows:,} row(s): {parts}" if self.rows else "no rows"

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def write_dead_letters(lake: Sink, table: str, records: pa.Table) -> CommitResult | None:
    """Append ``records`` to the dead letter ``table``, skipping ids already stored."""
    import pyarrow.compute as pc

    if records.num_rows == 0:
        return None
    if lake.exists(table):
        stored = lake.dataset(table).to_table(columns=["dlq_id"]).column("dlq_id")
        records = records.filter(pc.invert(pc.is_in(records.column("dlq_id"), stored)))
    records = _unique_ids(records)
    if records.num_rows == 0:
        return None
    return lake.write(table, records, mode="append")


def read_dead_letters(lake: Sink, source: str) -> pa.Table:
    """Every stored dead letter of ``source`` (an empty table when there are none)."""
    table = dlq_table(source)
    if not lake.exists(table):
        return dlq_schema().empty_table()
    return lake.dataset(table).to_table()


def dlq_sources(lake: Sink) -> list[str]:
    """Sources that have a dead letter table in ``lake``."""
    prefix = DLQ_PREFIX + "/"
    return sorted(t[len(prefix) :] for t in lake.tables() if t.startswith(prefix))


def _unique_ids(records: pa.Table) -> pa.Table:
    """``records`` with one row per ``dlq_id`` (the first)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = records.column("dlq_id")
    if pc.count_distinct(ids).as_py() == records.num_rows:
        return records
    numbered = records.append_column("_i", pa.array(range(records.num_rows), pa.int64()))
    firsts = numbered.group_by("dlq_id").aggregate([("_i", "min")]).column("_i_min")
    return records.take(pc.sort_indices(firsts))
