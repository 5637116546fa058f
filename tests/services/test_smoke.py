"""Each test service does the real thing: rows, messages and objects round-trip."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest

from tests.services import KafkaService, PostgresService, S3Service


def _postgres_rows(service: PostgresService, sql: str) -> list[tuple[object, ...]]:
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(service.uri) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        rows = list(cursor.fetchall()) if cursor.description else []
        connection.commit()
        return rows


@pytest.mark.postgres
def test_a_row_round_trips_through_postgres(postgres_service: PostgresService) -> None:
    import adbc_driver_postgresql.dbapi as pg

    table = f"smoke_{uuid.uuid4().hex[:8]}"
    with pg.connect(postgres_service.uri) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, name text, amount numeric)")
        cursor.execute(f"INSERT INTO {table} VALUES ($1, $2, $3::numeric)", (7, "ada", "12.50"))
        connection.commit()
        cursor.execute(f"SELECT id, name, amount::text FROM {table}")
        assert cursor.fetchall() == [(7, "ada", "12.50")]
        cursor.execute("SELECT current_user, current_database(), current_setting('server_version')")
        user, database, version = cursor.fetchone()
    assert (user, database) == ("duckpipe", "duckpipe")
    assert version.startswith("15.")


@pytest.mark.postgres
def test_postgres_keeps_committed_rows_across_stop_and_kill(
    postgres_service: PostgresService,
) -> None:
    table = f"durable_{uuid.uuid4().hex[:8]}"
    _postgres_rows(postgres_service, f"CREATE TABLE {table} AS SELECT 41 + 1 AS answer")
    port = postgres_service.port

    postgres_service.stop()
    assert not postgres_service.running
    postgres_service.start()
    assert _postgres_rows(postgres_service, f"SELECT answer FROM {table}") == [(42,)]

    postgres_service.kill()
    postgres_service.start()
    assert _postgres_rows(postgres_service, f"SELECT answer FROM {table}") == [(42,)]
    assert postgres_service.port == port


@pytest.mark.postgres
def test_postgres_checks_the_password_over_tcp(postgres_service: PostgresService) -> None:
    import adbc_driver_postgresql.dbapi as pg

    wrong = postgres_service.uri.replace(":duckpipe@", ":wrong@")
    with pytest.raises(Exception, match="password authentication failed"):
        pg.connect(wrong).close()


def _consume(consumer: object, expected: int, timeout: float = 30.0) -> list[bytes]:
    """Poll until ``expected`` messages arrived (or time runs out), return their values."""
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(values) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():  # type: ignore[attr-defined]
            values.extend(record.value for record in records)
    return values


@pytest.fixture
def topic() -> Iterator[str]:
    yield f"smoke-{uuid.uuid4().hex[:8]}"


@pytest.mark.kafka
def test_a_message_round_trips_through_kafka_with_committed_offsets(
    kafka_service: KafkaService, topic: str
) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    producer = KafkaProducer(bootstrap_servers=kafka_service.bootstrap, acks="all")
    for value in (b"first", b"second"):
        producer.send(topic, key=b"k", value=value).get(timeout=30)
    producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_service.bootstrap,
        group_id=f"group-{topic}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    assert _consume(consumer, 2) == [b"first", b"second"]
    consumer.commit()
    assert consumer.committed(TopicPartition(topic, 0)) == 2
    consumer.close()


@pytest.mark.kafka
def test_kafka_read_committed_hides_aborted_transactions(
    kafka_service: KafkaService, topic: str
) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=kafka_service.bootstrap, transactional_id=f"tx-{topic}"
    )
    producer.init_transactions()
    producer.begin_transaction()
    producer.send(topic, b"committed-1")
    producer.commit_transaction()
    producer.begin_transaction()
    producer.send(topic, b"aborted")
    producer.flush()
    producer.abort_transaction()
    producer.begin_transaction()
    producer.send(topic, b"committed-2")
    producer.commit_transaction()
    producer.close()

    def read(isolation: str, expected: int) -> list[bytes]:
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=kafka_service.bootstrap,
            auto_offset_reset="earliest",
            isolation_level=isolation,
            enable_auto_commit=False,
        )
        try:
            return _consume(consumer, expected)
        finally:
            consumer.close()

    assert read("read_committed", 2) == [b"committed-1", b"committed-2"]
    assert read("read_uncommitted", 3) == [b"committed-1", b"aborted", b"committed-2"]


@pytest.mark.kafka
@pytest.mark.slow
def test_kafka_keeps_messages_across_a_kill_and_restart(
    kafka_service: KafkaService, topic: str
) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    producer = KafkaProducer(bootstrap_servers=kafka_service.bootstrap, acks="all")
    producer.send(topic, b"before-crash").get(timeout=30)
    producer.close()

    kafka_service.kill()
    kafka_service.start()

    consumer = KafkaConsumer(
        topic, bootstrap_servers=kafka_service.bootstrap, auto_offset_reset="earliest"
    )
    assert _consume(consumer, 1) == [b"before-crash"]
    consumer.close()


@pytest.mark.s3
def test_an_object_round_trips_through_s3(s3_service: S3Service, s3_bucket: str) -> None:
    client = s3_service.client()
    assert client.list_objects_v2(Bucket=s3_bucket)["KeyCount"] == 0
    client.put_object(Bucket=s3_bucket, Key="dir/hello.txt", Body=b"hello, lake")
    body = client.get_object(Bucket=s3_bucket, Key="dir/hello.txt")["Body"].read()
    assert body == b"hello, lake"


@pytest.mark.s3
def test_each_test_gets_its_own_empty_bucket(s3_service: S3Service, s3_bucket: str) -> None:
    names = {bucket["Name"] for bucket in s3_service.client().list_buckets()["Buckets"]}
    assert s3_bucket in names
    assert s3_service.client().list_objects_v2(Bucket=s3_bucket)["KeyCount"] == 0


@pytest.mark.s3
def test_a_delta_table_round_trips_through_s3(s3_service: S3Service, s3_bucket: str) -> None:
    from deltalake import DeltaTable, write_deltalake

    uri = f"s3://{s3_bucket}/orders"
    options = s3_service.delta_storage_options()
    batch = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "status": ["new", "paid", "sent"]})
    write_deltalake(uri, batch, storage_options=options)
    write_deltalake(uri, batch.slice(0, 1), storage_options=options, mode="append")

    table = DeltaTable(uri, storage_options=options)
    assert table.version() == 1
    assert table.to_pyarrow_table().sort_by("id").column("id").to_pylist() == [1, 1, 2, 3]


@pytest.mark.s3
def test_an_iceberg_table_round_trips_through_s3(
    s3_service: S3Service, s3_bucket: str, tmp_path: object
) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog(
        "smoke",
        uri=f"sqlite:///{tmp_path}/catalog.db",
        warehouse=f"s3://{s3_bucket}/warehouse",
        **s3_service.iceberg_properties(),
    )
    catalog.create_namespace("shop")
    rows = pa.table({"id": pa.array([10, 20], pa.int64()), "city": ["Oslo", "Lima"]})
    table = catalog.create_table("shop.customers", schema=rows.schema)
    table.append(rows)

    loaded = catalog.load_table("shop.customers")
    assert loaded.metadata_location.startswith(f"s3://{s3_bucket}/warehouse/")
    assert loaded.scan().to_arrow().sort_by("id").to_pydict() == rows.to_pydict()
