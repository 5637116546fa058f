"""The sink contract: every lake (memory, Delta, Iceberg; local disk and S3) behaves the same."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from duckpipe.core.errors import SinkError
from duckpipe.sinks import MergeSpec, Position, Sink


def orders(ids: list[int], day: str = "2024-05-01", amount: float = 1.0) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "day": pa.array([day] * len(ids), pa.string()),
            "amount": pa.array([amount * i for i in ids], pa.float64()),
        }
    )


def rows(lake: Sink, table: str, **as_of: object) -> list[dict[str, object]]:
    return sorted(lake.dataset(table, **as_of).to_table().to_pylist(), key=lambda r: r["id"])  # type: ignore[arg-type]


def ids(lake: Sink, table: str, **as_of: object) -> list[int]:
    return [int(r["id"]) for r in rows(lake, table, **as_of)]  # type: ignore[call-overload]


# -- create, list, append, overwrite --------------------------------------------------


def test_create_from_arrow_schema_lists_tables_and_keeps_types(lake: Sink) -> None:
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            ("name", pa.string()),
            ("ts", pa.timestamp("us", tz="UTC")),
        ]
    )
    lake.create("customers", schema, partition_by=["name"])
    lake.create("_dlq/orders", pa.schema([("raw", pa.string())]))
    assert lake.exists("customers") and not lake.exists("nope")
    assert lake.tables() == ["_dlq/orders", "customers"]
    got = lake.schema("customers")
    assert got.names == ["id", "name", "ts"]
    assert got.field("ts").type == pa.timestamp("us", tz="UTC")
    assert got.field("id").nullable is False
    assert lake.describe("customers").partition_by == ["name"]
    assert lake.dataset("customers").to_table().num_rows == 0
    with pytest.raises(SinkError, match="already exists"):
        lake.create("customers", schema)


def test_append_adds_a_version_each_commit(lake: Sink) -> None:
    first = lake.write("orders", orders([1, 2]))
    second = lake.write("orders", orders([3]))
    assert first.rows_written == 2 and second.rows_inserted == 1
    assert second.version is not None and first.version is not None
    assert second.version > first.version
    assert second.version == lake.version("orders")
    assert ids(lake, "orders") == [1, 2, 3]
    assert lake.history("orders")[0]["version"] == lake.version("orders")


def test_overwrite_replaces_table_and_schema(lake: Sink) -> None:
    lake.write("orders", orders([1, 2, 3]))
    result = lake.write("orders", pa.table({"id": [9], "note": ["new"]}), mode="overwrite")
    assert result.rows_inserted == 1
    assert rows(lake, "orders") == [{"id": 9, "note": "new"}]
    assert lake.schema("orders").names == ["id", "note"]


def test_overwrite_by_predicate_replaces_only_matching_rows(lake: Sink) -> None:
    lake.write("orders", orders([1, 2], day="2024-05-01"), partition_by=["day"])
    lake.write("orders", orders([3], day="2024-05-02"))
    result = lake.write(
        "orders", orders([7], day="2024-05-01"), mode="overwrite", predicate="day = '2024-05-01'"
    )
    assert result.rows_inserted == 1
    assert ids(lake, "orders") == [3, 7]
    with pytest.raises(SinkError, match="predicate"):
        lake.write(
            "orders",
            orders([8], day="2024-05-09"),
            mode="overwrite",
            predicate="day = '2024-05-01'",
        )
    assert ids(lake, "orders") == [3, 7]


# -- merge ------------------------------------------------------------------------


def test_merge_updates_matches_and_inserts_the_rest(lake: Sink) -> None:
    lake.write("orders", orders([1, 2, 3]), partition_by=["day"])
    incoming = pa.table({"id": [2, 3, 4], "day": ["2024-05-01"] * 3, "amount": [20.0, 30.0, 40.0]})
    result = lake.write("orders", incoming, mode="merge", merge=MergeSpec(keys=["id"]))
    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == (1, 2, 0)
    assert [r["amount"] for r in rows(lake, "orders")] == [1.0, 20.0, 30.0, 40.0]


def test_merge_clauses_predicate_update_set_delete_when(lake: Sink) -> None:
    lake.write("orders", orders([1, 2, 3, 4]))
    incoming = pa.table(
        {
            "id": pa.array([1, 2, 3, 5], pa.int64()),
            "day": ["2024-05-01"] * 4,
            "amount": [100.0, 0.5, 300.0, 500.0],
            "deleted": [False, False, True, False],
        }
    )
    spec = MergeSpec(
        keys=["id"],
        predicate="s.amount > t.amount",  # only larger amounts win
        update={"amount": "s.amount + 1"},
        delete_when="s.deleted",
        insert=True,
    )
    result = lake.write("orders", incoming.drop_columns(["day"]), mode="merge", merge=spec)
    got = {r["id"]: r for r in rows(lake, "orders")}
    # 1 updated (+1), 2 not matched by the predicate -> inserted again, 3 deleted, 5 inserted
    assert got[1]["amount"] == 101.0 and got[1]["day"] == "2024-05-01"
    assert 3 not in got and got[4]["amount"] == 4.0 and got[5]["amount"] == 500.0
    assert sorted(r["amount"] for r in rows(lake, "orders") if r["id"] == 2) == [0.5, 2.0]
    assert (result.rows_updated, result.rows_deleted, result.rows_inserted) == (1, 1, 2)


def test_merge_insert_only_and_update_only(lake: Sink) -> None:
    lake.write("orders", orders([1, 2]))
    insert_only = MergeSpec(keys=["id"], update="none")
    result = lake.write("orders", orders([2, 3], amount=9.0), mode="merge", merge=insert_only)
    assert (result.rows_inserted, result.rows_updated) == (1, 0)
    update_only = MergeSpec(keys=["id"], insert=False)
    result = lake.write("orders", orders([1, 7], amount=5.0), mode="merge", merge=update_only)
    assert (result.rows_inserted, result.rows_updated) == (0, 1)
    assert [(r["id"], r["amount"]) for r in rows(lake, "orders")] == [(1, 5.0), (2, 2.0), (3, 27.0)]


def test_text_columns_of_an_unpartitioned_merged_table_stay_filterable(lake: Sink) -> None:
    import pyarrow.compute as pc

    from duckpipe.engine import Engine

    def customers(ids: list[int], tier: str) -> pa.Table:
        return pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "name": [f"c{i}" for i in ids],
                "tier": [tier] * len(ids),
                "tag": pa.array([f"t{i}".encode() for i in ids], pa.binary()),
            }
        )

    lake.write("customers", customers([1, 2, 3], "basic"))
    lake.write("customers", customers([4, 5], "basic"))  # a second file the merge leaves alone
    before = lake.version("customers")
    lake.write("customers", customers([2, 6], "gold"), mode="merge", merge=MergeSpec(keys=["id"]))
    assert lake.schema("customers").field("name").type == pa.string()
    current = lake.dataset("customers")
    assert current.schema.field("tier").type == pa.string()
    gold = current.to_table(filter=pc.field("tier") == "gold")
    assert sorted(gold.column("id").to_pylist()) == [2, 6]
    assert gold.schema.field("name").type == pa.string()
    assert gold.schema.field("tag").type == pa.binary()
    by_tag = current.to_table(filter=pc.field("tag") == b"t4")
    assert by_tag.column("name").to_pylist() == ["c4"]
    assert current.to_table(filter=pc.field("name").isin(["c1", "c5"])).num_rows == 2
    old = lake.dataset("customers", version=before).to_table(filter=pc.field("tier") == "gold")
    assert old.num_rows == 0

    engine = Engine()
    engine.attach_lake(lake)
    got = engine.arrow(
        "select id, name from customers where tier = 'basic' and name >= 'c3' order by id"
    )
    assert got.to_pylist() == [
        {"id": 3, "name": "c3"},
        {"id": 4, "name": "c4"},
        {"id": 5, "name": "c5"},
    ]
    blob = engine.arrow("select id from customers where tag = 't6'::blob")
    assert blob.column("id").to_pylist() == [6]


def test_merge_rejects_duplicate_source_keys_and_unknown_keys(lake: Sink) -> None:
    lake.write("orders", orders([1]))
    with pytest.raises(SinkError, match="merge key 'oid'"):
        lake.write("orders", orders([1]), mode="merge", merge=MergeSpec(keys=["oid"]))
    with pytest.raises(SinkError):
        lake.write("orders", orders([1, 1]), mode="merge", merge=MergeSpec(keys=["id"]))
    assert ids(lake, "orders") == [1]


# -- schemas ------------------------------------------------------------------------


def test_duckdb_arrow_is_cast_safely_and_unsafe_casts_name_the_column(lake: Sink) -> None:
    lake.create(
        "t", pa.schema([pa.field("id", pa.int64(), nullable=False), ("amount", pa.float64())])
    )
    # int32 and nullable (as DuckDB hands them out) fit an int64 NOT NULL column
    lake.write(
        "t", pa.table({"id": pa.array([1, 2], pa.int32()), "amount": pa.array([1, 2], pa.int32())})
    )
    assert rows(lake, "t") == [{"id": 1, "amount": 1.0}, {"id": 2, "amount": 2.0}]
    with pytest.raises(SinkError, match=r"column 'id'.*table 't'") as err:
        lake.write("t", pa.table({"id": ["x"], "amount": [1.0]}))
    assert err.value.where == "t.id" and err.value.hint
    with pytest.raises(SinkError, match="NOT NULL"):
        lake.write("t", pa.table({"id": pa.array([None, 3], pa.int64()), "amount": [1.0, 2.0]}))
    assert len(rows(lake, "t")) == 2


def test_new_nullable_columns_are_added_unless_strict(lake: Sink) -> None:
    lake.write("t", orders([1]))
    with pytest.raises(SinkError, match="'note'"):
        lake.write("t", orders([2]).append_column("note", pa.array(["x"])), schema_mode="strict")
    lake.write("t", orders([2]).append_column("note", pa.array(["x"])))
    assert [r["note"] for r in rows(lake, "t")] == [None, "x"]
    assert lake.schema("t").field("note").nullable


# -- positions ----------------------------------------------------------------------


def test_position_is_committed_with_the_rows_per_writer(make_lake: Callable[[], Sink]) -> None:
    lake = make_lake()
    assert lake.read_position("orders", "source:orders") is None
    lake.write(
        "orders", orders([1]), position=Position("source:orders", {"watermark": "2024-05-01"})
    )
    lake.write(
        "orders", orders([2]), position=Position("stream:clicks", {"offsets": {"0": 41, "1": 7}})
    )
    lake.write(
        "orders", orders([3]), position=Position("source:orders", {"watermark": "2024-05-02"})
    )
    lake.write("orders", orders([4]))  # a commit without a position keeps the others
    reopened = make_lake()
    assert reopened.read_position("orders", "source:orders") == Position(
        "source:orders", {"watermark": "2024-05-02"}
    )
    assert reopened.read_position("orders", "stream:clicks") == Position(
        "stream:clicks", {"offsets": {"0": 41, "1": 7}}
    )
    assert reopened.read_position("orders", "nobody") is None
    with_positions = [h for h in reopened.history("orders") if h["positions"].get("source:orders")]
    assert with_positions[0]["positions"]["source:orders"] == {"watermark": "2024-05-02"}


def test_positions_survive_compaction_and_vacuum(file_lake: Sink) -> None:
    for i in range(3):
        file_lake.write("t", orders([i]), position=Position("w", {"n": i}))
    file_lake.compact("t", target_size=64 * 1024 * 1024)
    file_lake.vacuum("t", retention_hours=0, enforce_retention=False)
    assert file_lake.read_position("t", "w") == Position("w", {"n": 2})
    assert ids(file_lake, "t") == [0, 1, 2]


# -- time travel ----------------------------------------------------------------------


def test_time_travel_by_version_and_timestamp(lake: Sink) -> None:
    v1 = lake.write("t", orders([1])).version
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    lake.write("t", orders([2]))
    assert ids(lake, "t", version=v1) == [1]
    assert ids(lake, "t", timestamp=between.isoformat()) == [1]
    assert ids(lake, "t") == [1, 2]
    with pytest.raises(SinkError, match="no version"):
        lake.dataset("t", version=999)
    with pytest.raises(SinkError, match="no version"):
        lake.dataset("t", timestamp="2001-01-01T00:00:00Z")


# -- maintenance ---------------------------------------------------------------------


def test_compaction_keeps_every_row_and_reduces_files(lake: Sink) -> None:
    for i in range(12):
        lake.write(
            "t",
            orders([i * 10 + j for j in range(5)], day=f"2024-05-0{1 + i % 2}"),
            partition_by=["day"],
        )
    before = lake.describe("t")
    checksum = sorted(map(str, rows(lake, "t")))
    result = lake.compact("t", target_size=32 * 1024 * 1024)
    after = lake.describe("t")
    assert result.files_removed == before.num_files and after.num_files == 2  # one per partition
    assert sorted(map(str, rows(lake, "t"))) == checksum
    assert after.num_rows == 60 and after.partition_by == ["day"]


def test_vacuum_has_a_retention_guard_and_keeps_current_data(file_lake: Sink) -> None:
    file_lake.write("t", orders([1, 2]))
    file_lake.write("t", orders([3]), mode="overwrite")
    with pytest.raises(SinkError, match="safe minimum"):
        file_lake.vacuum("t", retention_hours=1)
    dry = file_lake.vacuum("t", retention_hours=0, enforce_retention=False, dry_run=True)
    assert dry.dry_run and dry.files_removed >= 1
    assert ids(file_lake, "t") == [3]
    done = file_lake.vacuum("t", retention_hours=0, enforce_retention=False)
    assert done.files_removed == dry.files_removed
    assert ids(file_lake, "t") == [3]
    assert file_lake.vacuum("t", retention_hours=0, enforce_retention=False).files_removed == 0


def test_partition_filter_prunes_files(file_lake: Sink) -> None:
    import pyarrow.compute as pc

    from duckpipe.sinks.reads import trace_reads

    for day in ("2024-05-01", "2024-05-02", "2024-05-03"):
        file_lake.write("t", orders([1, 2, 3], day=day), partition_by=["day"])
    with trace_reads() as log:
        got = file_lake.dataset("t").to_table(filter=pc.field("day") == "2024-05-02")
    assert got.num_rows == 3
    assert len(log.files) == 1 and all("2024-05-02" in p for p in log.files)
