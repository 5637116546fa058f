"""The dead letter queue: rejected rows and messages, kept in the lake at ``_dlq/<name>``.

One writer, ``write_dead_letters``, serves batch sources and streams alike. Every
record holds the reason, the column, the source, the run id, the time and the raw
values (``dlq_schema``); records of Kafka messages add the message itself
(``MESSAGE_COLUMNS``). Writing is exactly once, either way:

- a batch source's ``dlq_id`` is a hash of the source and the row's raw values, so
  ids already stored are skipped however often a row is re-extracted (a rerun after
  a crash, a replay that still fails);
- a stream's ``dlq_id`` is ``topic:partition:offset`` and the table's commit carries
  the stream's position (up to where it is complete): the stream leaves out what that
  position covers (``after``) and the writer commits the new one with the rows.

A stream with ``dlq_topic:`` also sends its dead letters to Kafka, inside the
producer transaction of its batch: ``topic_messages`` gives those messages (the
original key, value and headers plus ``duckpipe.*`` headers saying where and why).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from duckpipe.ingest.contracts import COLUMN, REASON

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from duckpipe.sinks.base import CommitResult, Position, Sink

DLQ_PREFIX = "_dlq"
MESSAGE_COLUMNS = (
    "_topic",
    "_partition",
    "_offset",
    "_timestamp",
    "_key",
    "_headers",
    "_value",
    "_reason",
)
"""A rejected Kafka message: where it was read, the record itself, and why."""


@dataclass(frozen=True)
class TopicMessage:
    """One message for a DLQ topic."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


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


def write_dead_letters(
    lake: Sink, table: str, records: pa.Table, *, position: Position | None = None
) -> CommitResult | None:
    """Append ``records`` to the dead letter ``table`` exactly once; None when nothing was new.

    Without ``position`` the ids already stored are skipped. With ``position`` (a
    stream's offsets), the caller has left out the records its stored position covers,
    and ``position`` is committed with the rows, so the table is not read.
    """
    import pyarrow.compute as pc

    if records.num_rows == 0:
        return None
    if position is None and lake.exists(table):
        stored = lake.dataset(table).to_table(columns=["dlq_id"]).column("dlq_id")
        records = records.filter(pc.invert(pc.is_in(records.column("dlq_id"), stored)))
    records = _unique_ids(records)
    if records.num_rows == 0:
        return None
    return lake.write(table, records, mode="append", position=position, schema_mode="evolve")


def message_records(rejects: pa.Table, source: str, run_id: str) -> pa.Table:
    """DLQ records of rejected Kafka messages (``MESSAGE_COLUMNS``): the common columns, then the message."""
    import pyarrow as pa

    n = rejects.num_rows
    ids = [
        f"{t}:{p}:{o}"
        for t, p, o in zip(
            rejects.column("_topic").to_pylist(),
            rejects.column("_partition").to_pylist(),
            rejects.column("_offset").to_pylist(),
            strict=True,
        )
    ]
    raw = [
        None if v is None else v.decode("utf-8", "replace")
        for v in rejects.column("_value").to_pylist()
    ]
    common = pa.table(
        {
            "dlq_id": pa.array(ids, pa.string()),
            "source": pa.array([source] * n, pa.string()),
            "run_id": pa.array([run_id] * n, pa.string()),
            "failed_at": pa.array([datetime.now(UTC)] * n, pa.timestamp("us", tz="UTC")),
            "reason": rejects.column("_reason").cast(pa.string()),
            "column_name": pa.array([None] * n, pa.string()),
            "raw": pa.array(raw, pa.string()),
        },
        schema=dlq_schema(),
    )
    for name in MESSAGE_COLUMNS[:-1]:
        common = common.append_column(name, rejects.column(name))
    return common


def after(rows: pa.Table, recorded: dict[tuple[str, int], int]) -> pa.Table:
    """The message ``rows`` at or after ``recorded`` in their partition (the rest are written)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not recorded or not rows.num_rows:
        return rows
    keys = pc.binary_join_element_wise(
        rows.column("_topic"), pc.cast(rows.column("_partition"), pa.string()), "\x00"
    )
    names = [f"{t}\x00{p}" for (t, p) in recorded]
    index = pc.index_in(keys, value_set=pa.array(names, pa.string()))
    floors = pc.take(pa.array(list(recorded.values()), pa.int64()), index)
    keep = pc.or_kleene(pc.is_null(floors), pc.greater_equal(rows.column("_offset"), floors))
    return rows.filter(pc.fill_null(keep, True))


def topic_messages(rejects: pa.Table, stream: str) -> list[TopicMessage]:
    """The DLQ topic's messages for rejected Kafka messages: their key and value, headers saying why."""
    return [
        TopicMessage(
            key=row["_key"],
            value=row["_value"],
            headers=[
                *((h["key"], h["value"]) for h in row["_headers"] or []),
                ("duckpipe.stream", stream.encode()),
                ("duckpipe.reason", str(row["_reason"]).encode()),
                ("duckpipe.topic", row["_topic"].encode()),
                ("duckpipe.partition", str(row["_partition"]).encode()),
                ("duckpipe.offset", str(row["_offset"]).encode()),
            ],
        )
        for row in rejects.select(list(MESSAGE_COLUMNS)).to_pylist()
    ]


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
