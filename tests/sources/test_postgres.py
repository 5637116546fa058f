"""PostgreSQL over ADBC: types, streaming, the watermark as a bound parameter, errors."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from duckpipe.config import SourceConfig
from duckpipe.core.errors import SourceError
from duckpipe.sources.postgres import PostgresSource
from tests.ingest.helpers import data_columns, landed, run, write_project

pytestmark = pytest.mark.postgres

ALL_TYPES = """
    i2 smallint, i4 integer, i8 bigint, n numeric(12,2), big numeric(38,6), free numeric,
    r real, d double precision, b boolean, t text, v varchar(20), dt date, ts timestamp,
    tz timestamptz, iv interval, u uuid, j json, jb jsonb, by bytea, ai integer[], at text[]
"""
ROW = """(1, 2, 3000000000, 12345.67, 123456789012.123456, 1.5, 1.25, 2.5, true, 'text', 'vc',
    '2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15+02', '1 month 2 days 03:04:05',
    '0b1e9c2a-5d6f-4e3a-9c7b-1a2b3c4d5e6f', '{"a": [1, 2]}', '{"b": null}', '\\x00ff',
    '{1,NULL,3}', '{x,NULL}')"""
NULLS = "(" + ", ".join(["NULL"] * 21) + ")"
EXPECTED_TYPES = {
    "i2": pa.int16(),
    "i4": pa.int32(),
    "i8": pa.int64(),
    "n": pa.decimal128(12, 2),
    "big": pa.decimal128(38, 6),
    "free": pa.decimal128(38, 9),
    "r": pa.float32(),
    "d": pa.float64(),
    "b": pa.bool_(),
    "t": pa.string(),
    "v": pa.string(),
    "dt": pa.date32(),
    "ts": pa.timestamp("us"),
    "tz": pa.timestamp("us", tz="UTC"),
    "iv": pa.month_day_nano_interval(),
    "by": pa.binary(),
}


def make_types_table(pg) -> str:
    name = pg.name("types")
    pg.execute(f"CREATE TABLE {name} ({ALL_TYPES})", f"INSERT INTO {name} VALUES {ROW}, {NULLS}")
    return name


def read_all(uri: str, **cfg) -> pa.Table:
    source = PostgresSource("src", SourceConfig(uri=uri, **cfg))
    return source.extract(source.plan(None)).reader.read_all()


def test_every_common_type_arrives_with_the_right_arrow_type_and_value(pg):
    table = read_all(pg.uri, table=make_types_table(pg))
    for column, expected in EXPECTED_TYPES.items():
        assert table.schema.field(column).type == expected, column
    assert table.schema.field("u").type.extension_name == "arrow.uuid"
    assert table.schema.field("j").type.extension_name == "arrow.json"
    assert table.schema.field("ai").type.value_type == pa.int32()
    assert table.schema.field("at").type.value_type == pa.string()
    row, nulls = table.to_pylist()
    assert row["i8"] == 3_000_000_000
    assert row["n"] == Decimal("12345.67")
    assert row["big"] == Decimal("123456789012.123456")
    assert row["free"] == Decimal("1.500000000")
    assert (row["r"], row["d"], row["b"]) == (1.25, 2.5, True)
    assert (row["t"], row["v"]) == ("text", "vc")
    assert row["dt"] == date(2024, 2, 29)
    assert row["ts"] == datetime(2024, 2, 29, 13, 14, 15, 123456)
    assert row["tz"] == datetime(2024, 2, 29, 11, 14, 15, tzinfo=UTC)
    iv = row["iv"]
    assert (iv.months, iv.days, iv.nanoseconds) == (1, 2, (3 * 3600 + 4 * 60 + 5) * 10**9)
    assert row["u"] == uuid.UUID("0b1e9c2a-5d6f-4e3a-9c7b-1a2b3c4d5e6f")
    assert row["j"] == '{"a": [1, 2]}' and row["jb"] == '{"b": null}'
    assert row["by"] == b"\x00\xff"
    assert row["ai"] == [1, None, 3] and row["at"] == ["x", None]
    assert all(value is None for value in nulls.values())


def test_every_type_lands_in_the_lake_and_reads_back_in_duckdb(pg, tmp_path):
    name = make_types_table(pg)
    project = write_project(tmp_path, {"types": {"uri": pg.uri, "table": name}})
    assert run(project).ok
    import duckdb

    con = duckdb.connect()
    con.register("landed", data_columns(landed(project, "raw_types")))
    row = con.sql(
        """SELECT typeof(n), sum(n), typeof(big), sum(big) , typeof(free), typeof(tz),
                  u::UUID, iv::INTERVAL, j::JSON ->> '$.a[1]', ai, "by", count(*)
           FROM landed GROUP BY ALL"""
    ).fetchall()
    assert len(row) == 2  # the NULL row groups apart
    values = next(r for r in row if r[6] is not None)
    assert values[:6] == (
        "DECIMAL(12,2)",
        Decimal("12345.67"),
        "DECIMAL(38,6)",
        Decimal("123456789012.123456"),
        "DECIMAL(38,9)",
        "TIMESTAMP WITH TIME ZONE",
    )
    assert str(values[6]) == "0b1e9c2a-5d6f-4e3a-9c7b-1a2b3c4d5e6f"
    assert values[7].days == 32 and values[7].seconds == 3 * 3600 + 4 * 60 + 5  # 1 month = 30d
    assert values[8] == "2"
    assert values[9] == [1, None, 3]
    assert values[10] == b"\x00\xff"


def test_a_query_source_streams_in_batches(pg):
    name = pg.name("series")
    pg.execute(f"CREATE TABLE {name} AS SELECT g AS id FROM generate_series(1, 20000) g")
    source = PostgresSource(
        "s",
        SourceConfig(
            uri=pg.uri,
            query=f"SELECT id, id * 2 AS twice FROM {name} WHERE id % 2 = 0;",
            options={"batch_size_hint_bytes": 8192},
        ),
    )
    batches = list(source.extract(source.plan(None)).reader)
    assert len(batches) > 5
    assert sum(b.num_rows for b in batches) == 10000
    assert max(b.num_rows for b in batches) < 10000


def test_the_watermark_bound_is_a_bound_parameter(pg, postgres_service):
    database = f"wm_{uuid.uuid4().hex[:6]}"
    pg.execute(f"CREATE DATABASE {database}")
    db_uri = pg.uri.rsplit("/", 1)[0] + "/" + database
    pg.execute(f"ALTER DATABASE {database} SET log_statement = 'all'")
    from tests.ingest.helpers import Pg

    db = Pg(db_uri)
    db.execute(
        "CREATE TABLE events (id int, at timestamptz)",
        "INSERT INTO events SELECT g, '2024-01-01'::timestamptz + g * interval '1 hour' "
        "FROM generate_series(1, 48) g",
    )
    cfg = SourceConfig(uri=db_uri, table="events", watermark_column="at")
    source = PostgresSource("events", cfg)
    position = {"column": "at", "type": "timestamptz", "watermark": "2024-01-02T12:00:00+00:00"}
    extraction = source.extract(source.plan(position))
    table = extraction.reader.read_all()
    assert sorted(table.column("id").to_pylist()) == list(range(37, 49))
    assert extraction.next_position()["watermark"] == "2024-01-03T00:00:00+00:00"
    log = postgres_service.log_path.read_text()
    assert "parameters: $1 = 'duckpipe.watermark', $2 = '2024-01-02T12:00:00+00:00'" in log
    copy = [line for line in log.splitlines() if "COPY (SELECT * FROM (SELECT * FROM" in line]
    assert copy and "current_setting('duckpipe.watermark')" in copy[-1]
    assert "2024-01-02" not in copy[-1]


def test_syntax_errors_are_permanent_and_carry_the_server_message(pg):
    with pytest.raises(SourceError) as err:
        read_all(pg.uri, query="SELEC 1")
    assert not err.value.retryable
    assert "syntax error at or near" in str(err.value)
    assert "SELEC 1" in str(err.value)
    assert "SQLSTATE: 42601" in str(err.value)
    assert err.value.where == "sources.src"


def test_unknown_watermark_column_suggests_the_right_one(pg):
    name = pg.name("w")
    pg.execute(f"CREATE TABLE {name} (id int, updated_at timestamptz)")
    with pytest.raises(SourceError) as err:
        read_all(pg.uri, table=name, watermark_column="updated")
    assert "did you mean 'updated_at'" in str(err.value)


def test_numeric_without_scale_that_does_not_fit_names_the_column(pg):
    name = pg.name("num")
    pg.execute(f"CREATE TABLE {name} (x numeric)", f"INSERT INTO {name} VALUES (1.1234567891234)")
    with pytest.raises(SourceError) as err:
        read_all(pg.uri, table=name)
    assert "'x'" in str(err.value) and "1.1234567891234" in str(err.value)
    assert "numeric_scale" in str(err.value)
    wider = read_all(pg.uri, table=name, options={"numeric_scale": 13})
    assert wider.column("x")[0].as_py() == Decimal("1.1234567891234")


def test_numerics_up_to_18_digits_keep_every_digit_and_sign(pg):
    name = pg.name("edge")
    pg.execute(
        f"CREATE TABLE {name} (a numeric(18,4), b numeric(18,0), c numeric(3,3), d numeric(19,2))",
        f"""INSERT INTO {name} VALUES
            (99999999999999.9999, 999999999999999999, 0.999, 99999999999999999.99),
            (-99999999999999.9999, -999999999999999999, -0.001, -0.01),
            (0, 0, 0, 0), (NULL, NULL, NULL, NULL)""",
    )
    table = read_all(pg.uri, table=name)
    assert [f.type for f in table.schema] == [
        pa.decimal128(18, 4),
        pa.decimal128(18, 0),
        pa.decimal128(3, 3),
        pa.decimal128(19, 2),
    ]
    assert table.to_pylist() == [
        {
            "a": Decimal("99999999999999.9999"),
            "b": Decimal("999999999999999999"),
            "c": Decimal("0.999"),
            "d": Decimal("99999999999999999.99"),
        },
        {
            "a": Decimal("-99999999999999.9999"),
            "b": Decimal("-999999999999999999"),
            "c": Decimal("-0.001"),
            "d": Decimal("-0.01"),
        },
        {"a": Decimal("0.0000"), "b": Decimal("0"), "c": Decimal("0.000"), "d": Decimal("0.00")},
        {"a": None, "b": None, "c": None, "d": None},
    ]


def test_a_query_with_repeated_column_names_still_reads(pg):
    name = pg.name("dup")
    pg.execute(
        f"CREATE TABLE {name} (id int, price numeric(8,2))", f"INSERT INTO {name} VALUES (1, 2.5)"
    )
    table = read_all(
        pg.uri, query=f"SELECT a.price, b.price FROM {name} a JOIN {name} b USING (id)"
    )
    assert table.column_names == ["price", "price"]
    assert [c[0].as_py() for c in table.columns] == [Decimal("2.50"), Decimal("2.50")]


def test_a_primary_key_constraint_is_reported_as_unique(pg):
    name = pg.name("keys")
    pg.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, code text, v int)")
    pg.execute(f"CREATE UNIQUE INDEX ON {name} (code, v)")

    def unique_on(keys: list[str], **cfg) -> tuple[str, ...]:
        source = PostgresSource("k", SourceConfig(uri=pg.uri, primary_key=keys, **cfg))
        extraction = source.extract(source.plan(None))
        extraction.close()
        return extraction.unique_on

    assert unique_on(["id"], table=name) == ("id",)
    assert unique_on(["v", "code"], table=f"public.{name}") == ("v", "code")
    assert unique_on(["code"], table=name) == ()
    assert unique_on(["id"], query=f"SELECT * FROM {name}") == ()
