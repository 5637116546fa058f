"""The Python API users write: BatchDataIngester, as in the issue."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from duckpipe import BatchDataIngester
from duckpipe.core.errors import ConfigError

SCHEMA = {"required_fields": ["id", "user_id"], "dtypes": {"id": "int64"}}


@pytest.mark.postgres
def test_extract_validate_and_dead_letters_as_users_write_it(pg, tmp_path):
    table = pg.name("orders")
    pg.execute(
        f"CREATE TABLE {table} (id int, user_id int, total numeric(8,2), updated_at timestamptz)",
        f"""INSERT INTO {table} VALUES (1, 10, 5.50, '2024-01-01 10:00+00'),
            (2, NULL, 7.25, '2024-01-02 10:00+00'), (3, 30, 1.00, '2024-01-03 10:00+00')""",
    )
    ingester = BatchDataIngester(config={})
    before = datetime.now(UTC)
    df = ingester.extract_from_database(
        connection_string=pg.uri,
        query=f"SELECT * FROM {table}",
        watermark_column="updated_at",
        last_watermark=None,
    )
    after = datetime.now(UTC)
    assert df.num_rows == 3
    extracted_at = set(df.column("_extracted_at").to_pylist())
    assert len(extracted_at) == 1 and before <= extracted_at.pop() <= after
    assert set(df.column("_source").to_pylist()) == {"api"}
    assert set(df.column("_run_id").to_pylist()) == {ingester.run_id}
    assert df.schema.field("total").type == pa.decimal128(8, 2)
    assert ingester.last_watermark == datetime(2024, 1, 3, 10, tzinfo=UTC)

    time.sleep(0.01)  # validation happens measurably later than the extraction
    df = ingester.validate_and_clean(df, SCHEMA)
    assert df.column("id").to_pylist() == [1, 3]
    assert df.schema.field("id").type == pa.int64()
    assert {"_extracted_at", "_source", "_run_id"} <= set(df.column_names)
    kept = set(df.column("_extracted_at").to_pylist())  # the extraction's time, not now
    assert len(kept) == 1 and before <= kept.pop() <= after

    path = tmp_path / "lake" / "dlq" / "orders"
    assert ingester.save_dead_letter_queue(str(path)) == 1
    assert ingester.save_dead_letter_queue(str(path)) == 0  # stored once
    letter = DeltaTable(str(path)).to_pyarrow_table().to_pylist()[0]
    assert letter["reason"] == "required field 'user_id' is null"
    assert json.loads(letter["raw"])["id"] == 2

    pg.execute(f"INSERT INTO {table} VALUES (4, 40, 2.00, '2024-01-04 10:00+00')")
    newer = ingester.extract_from_database(
        pg.uri, f"SELECT * FROM {table}", "updated_at", ingester.last_watermark
    )
    assert newer.column("id").to_pylist() == [4]


def test_pandas_input_and_bad_values(tmp_path):
    frame = pd.DataFrame(
        {"id": ["1", "two", "3"], "user_id": [10, 20, None], "note": ["a", "b", "c"]}
    )
    ingester = BatchDataIngester(config={"source": "orders", "metadata_columns": False})
    clean = ingester.validate_and_clean(frame, SCHEMA)
    assert clean.to_pylist() == [{"id": 1, "user_id": 10.0, "note": "a"}]
    reasons = ingester.dead_letters.table().column("reason").to_pylist()
    assert reasons == ["value of type text does not fit int64", "required field 'user_id' is null"]


def test_bad_schema_is_a_config_error():
    with pytest.raises(ConfigError, match="required_feilds"):
        BatchDataIngester().validate_and_clean(pa.table({"id": [1]}), {"required_feilds": ["id"]})


@pytest.mark.s3
def test_dead_letters_to_s3(s3_service, s3_bucket):
    ingester = BatchDataIngester(config={"storage_options": s3_service.delta_storage_options()})
    ingester.validate_and_clean(pa.table({"id": [None, 2], "user_id": [1, 2]}), SCHEMA)
    uri = f"s3://{s3_bucket}/lake/dlq/orders"
    assert ingester.save_dead_letter_queue(uri) == 1
    stored = DeltaTable(uri, storage_options=s3_service.delta_storage_options()).to_pyarrow_table()
    assert stored.column("reason").to_pylist() == ["required field 'id' is null"]
