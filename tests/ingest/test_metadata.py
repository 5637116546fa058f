from datetime import UTC, datetime

import pyarrow as pa

from duckpipe.ingest.metadata import METADATA_COLUMNS, MetadataColumns


def test_metadata_columns_on_batches_and_on_staged_tables():
    when = datetime(2024, 5, 1, 12, tzinfo=UTC)
    meta = MetadataColumns("orders", "run-7", when)
    batch = meta(pa.record_batch({"id": [1, 2]}))
    assert batch.schema.names == ["id", *METADATA_COLUMNS]
    assert batch.to_pylist()[1] == {
        "id": 2,
        "_extracted_at": when,
        "_source": "orders",
        "_run_id": "run-7",
    }
    staged = pa.Table.from_batches(
        [pa.record_batch({"id": [1, 2, 3]}), pa.record_batch({"id": [4]})]
    )
    extended = meta.extend(staged)
    assert extended.schema == batch.schema
    assert extended.column("_source").to_pylist() == ["orders"] * 4
    assert extended.column("_run_id").num_chunks == 2
    assert meta.extend(staged.slice(0, 0)).num_rows == 0
