"""``duckpipe stream``, in process, against the real broker and real Delta / Iceberg tables."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from duckpipe.core.console import NullConsole
from duckpipe.core.errors import ConfigError
from duckpipe.kafka.backends import open_consumer
from duckpipe.kafka.positions import BEGINNING
from duckpipe.kafka.settings import KafkaSettings
from duckpipe.project import load_project
from duckpipe.streaming import StreamOptions, run_stream
from tests.streaming.helpers import BASE_MS, create_topic, produce, write_project

pytestmark = pytest.mark.kafka


def project(
    tmp_path: Path, bootstrap: str, topic: str, fmt: str, streams: str, *, extra: str = ""
) -> Path:
    return write_project(
        tmp_path / "proj",
        f"""
name: streams
format: {fmt}
sources:
  clicks:
    uri: kafka://{bootstrap}
    topics: [{topic}]
    group_id: g-{topic}
{extra}
streams:
{streams}
""",
    )


def once(root: Path, name: str, **options) -> object:
    return run_stream(
        load_project(root), name, StreamOptions(once=True, **options), console=NullConsole()
    )


def table(root: Path, name: str) -> list[dict]:
    lake = load_project(root).open_lake()
    return lake.dataset(name).to_table().to_pylist()


def offsets(rows: list[dict]) -> list[tuple[int, int]]:
    return sorted((r["_partition"], r["_offset"]) for r in rows)


def click(i: int) -> dict:
    return {"id": i, "user": f"u{i % 5}", "amount": i * 0.5, "ts": BASE_MS + i * 200}


RAW = """
  raw:
    source: clicks
    table: clicks_raw
    max_interval: 0.5s
    max_records: 200
"""


@pytest.fixture
def topic(kafka_service) -> str:
    name = f"clicks-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_service.bootstrap, name, partitions=2)
    return name


@pytest.mark.parametrize(
    ("fmt", "client"), [("delta", "confluent-kafka"), ("iceberg", "kafka-python")]
)
def test_every_committed_message_lands_once_poison_goes_to_the_dlq(
    kafka_service, topic, tmp_path, fmt, client
):
    boot = kafka_service.bootstrap
    produce(boot, topic, [(i % 2, click(i)) for i in range(300)], transactional_id=f"a-{topic}")
    produce(
        boot,
        topic,
        [(i % 2, click(1000 + i)) for i in range(40)],
        transactional_id=f"b-{topic}",
        abort=True,
    )
    produce(boot, topic, [(0, b"{broken"), (1, b'{"id": "not a number"}'), (1, click(300))])
    root = project(tmp_path, boot, topic, fmt, RAW, extra="    contract: {dtypes: {id: int64}}")

    report = once(root, "raw", client=client)
    rows = table(root, "clicks_raw")
    ids = sorted(r["id"] for r in rows)
    assert ids == [*range(300), 300]  # the aborted transaction never appears
    assert len(offsets(rows)) == len(set(offsets(rows)))
    assert report.records == 303 and report.dead_letters == 2
    dead = sorted(table(root, "_dlq/raw"), key=lambda r: r["_partition"])
    assert [(r["_topic"], r["_partition"], r["reason"]) for r in dead] == [
        (topic, 0, "the value is not valid JSON"),
        (topic, 1, "field 'id' is not BIGINT: \"not a number\""),
    ]
    assert dead[0]["_value"] == b"{broken"
    assert (
        dead[0]["_offset"] == 150 + 1 + 20 + 1
    )  # 150 rows, commit marker, 20 aborted, abort marker

    produce(boot, topic, [(i % 2, click(i)) for i in range(400, 410)])
    once(root, "raw", client=client)
    again = table(root, "clicks_raw")
    assert sorted(r["id"] for r in again) == [*range(300), 300, *range(400, 410)]
    assert len(table(root, "_dlq/raw")) == 2


def test_replay_from_an_offset_leaves_the_table_unchanged(kafka_service, topic, tmp_path):
    boot = kafka_service.bootstrap
    produce(boot, topic, [(i % 2, click(i)) for i in range(120)] + [(0, b"poison")])
    root = project(tmp_path, boot, topic, "delta", RAW)
    once(root, "raw")
    before = sorted(table(root, "clicks_raw"), key=lambda r: (r["_partition"], r["_offset"]))
    report = once(root, "raw", from_offsets=("0:10", "1:0"))
    after = sorted(table(root, "clicks_raw"), key=lambda r: (r["_partition"], r["_offset"]))
    assert report.records == 111
    assert after == before
    assert len(table(root, "_dlq/raw")) == 1
    lake = load_project(root).open_lake()
    assert lake.read_position("clicks_raw", "stream:raw").value["offsets"] == {
        topic: {"0": 61, "1": 60}
    }


def test_unknown_partition_in_from_offset_is_named(kafka_service, topic, tmp_path):
    produce(kafka_service.bootstrap, topic, [(0, click(1))])
    root = project(tmp_path, kafka_service.bootstrap, topic, "delta", RAW)
    with pytest.raises(ConfigError) as err:
        once(root, "raw", from_offsets=("7:0",))
    assert f"partition {topic}/7" in str(err.value)


WINDOWED = """
  per_user:
    source: clicks
    table: clicks_per_user
    max_interval: 0.5s
    max_records: 150
    key: [user]
    mode: {mode}
    window: {{type: tumbling, size: 10s, time_column: ts, allowed_lateness: 1s}}
    sql: |
      select user, window_start, window_end, count(*) as clicks, sum(id) as ids
      from windowed group by all
"""


def expected_windows(ids: list[int], closed_before_ms: int | None = None) -> dict:
    out: dict = {}
    for i in ids:
        c = click(i)
        start = (c["ts"] // 10_000) * 10_000
        if closed_before_ms is not None and start + 10_000 > closed_before_ms:
            continue
        key = (c["user"], start)
        clicks, total = out.get(key, (0, 0))
        out[key] = (clicks + 1, total + i)
    return out


def windows_of(rows: list[dict]) -> dict:
    return {
        (r["user"], int(r["window_start"].timestamp() * 1000)): (r["clicks"], int(r["ids"]))
        for r in rows
    }


@pytest.mark.parametrize(("fmt", "mode"), [("delta", "append"), ("iceberg", "update")])
def test_windowed_stream_equals_a_direct_computation(kafka_service, topic, tmp_path, fmt, mode):
    boot = kafka_service.bootstrap
    ids = list(range(400))
    produce(boot, topic, [(i % 2, click(i)) for i in ids])
    root = project(tmp_path, boot, topic, fmt, WINDOWED.format(mode=mode))
    report = once(root, "per_user")
    watermark_ms = click(399)["ts"] - 1000
    got = windows_of(table(root, "clicks_per_user"))
    if mode == "append":  # only closed windows are emitted
        assert got == expected_windows(ids, closed_before_ms=watermark_ms)
    else:  # every window, the open one with its current count
        assert got == expected_windows(ids)
    assert report.windows > 0
    produce(boot, topic, [(i % 2, click(i)) for i in range(400, 500)])
    once(root, "per_user")  # a restart: the open windows' events are re-read, not double counted
    got = windows_of(table(root, "clicks_per_user"))
    expected = expected_windows(
        list(range(500)), click(499)["ts"] - 1000 if mode == "append" else None
    )
    assert got == expected


def test_windowed_replay_from_a_timestamp_changes_nothing(kafka_service, topic, tmp_path):
    boot = kafka_service.bootstrap
    produce(boot, topic, [(i % 2, click(i)) for i in range(300)])
    root = project(tmp_path, boot, topic, "delta", WINDOWED.format(mode="append"))
    once(root, "per_user")
    before = windows_of(table(root, "clicks_per_user"))
    once(root, "per_user", from_timestamp=datetime.fromtimestamp(0, tz=UTC))
    after = windows_of(table(root, "clicks_per_user"))
    assert after == before
    assert len(table(root, "clicks_per_user")) == len(before)


def test_dlq_topic_receives_each_poison_message_once(kafka_service, topic, tmp_path):
    boot = kafka_service.bootstrap
    dlq = f"{topic}-dlq"
    create_topic(boot, dlq)
    produce(boot, topic, [(0, click(1)), (0, b"bad-1"), (1, b"bad-2"), (1, click(2))])
    streams = RAW + f"    dlq_topic: {dlq}\n"
    root = project(tmp_path, boot, topic, "delta", streams)
    once(root, "raw")
    once(root, "raw", from_offsets=("0:0", "1:0"))  # a replay must not publish them again
    reader = open_consumer(
        KafkaSettings(bootstrap=boot, topics=(dlq,), group_id="dlq-reader"), "confluent-kafka"
    )
    parts = reader.partitions()
    ends = reader.end_offsets(parts)
    reader.assign({tp: BEGINNING for tp in parts})
    chunks = []
    while any((reader.position(tp) or -1) < end for tp, end in ends.items()):
        chunk = reader.poll(100, 0.5)
        if chunk is not None:
            chunks.append(chunk)
    reader.close()
    messages = [r for c in chunks for r in c.to_pylist()]
    assert sorted(m["_value"] for m in messages) == [b"bad-1", b"bad-2"]
    headers = {h["key"]: h["value"] for h in messages[0]["_headers"]}
    assert headers["duckpipe.reason"] == b"the value is not valid JSON"
    assert headers["duckpipe.topic"] == topic.encode()
    group = open_consumer(
        KafkaSettings(bootstrap=boot, topics=(topic,), group_id=f"g-{topic}.raw"), "confluent-kafka"
    )
    assert group.committed([(topic, 0), (topic, 1)]) == {(topic, 0): 2, (topic, 1): 2}
    group.close()
    assert len(table(root, "_dlq/raw")) == 2


def test_stream_with_sql_and_bytes_values(kafka_service, topic, tmp_path):
    boot = kafka_service.bootstrap
    produce(boot, topic, [(0, b"\x00\x01"), (0, b"plain text"), (1, b"")])
    streams = """
  blobs:
    source: raw_clicks
    table: blobs
    max_interval: 0.5s
    sql: select _partition, _offset, value, octet_length(value) as size from batch
"""
    extra = f"""  raw_clicks:
    uri: kafka://{boot}
    topics: [{topic}]
    group_id: g2-{topic}
    value_format: bytes"""
    root = project(tmp_path, boot, topic, "delta", streams, extra=extra)
    once(root, "blobs")
    rows = sorted(table(root, "blobs"), key=lambda r: (r["_partition"], r["_offset"]))
    assert [(r["value"], r["size"]) for r in rows] == [
        (b"\x00\x01", 2),
        (b"plain text", 10),
        (b"", 0),
    ]


def test_a_topic_pattern_reads_every_matching_topic(kafka_service, tmp_path):
    boot = kafka_service.bootstrap
    prefix = f"pat-{uuid.uuid4().hex[:6]}"
    for suffix in ("a", "b", "other"):
        create_topic(boot, f"{prefix}-{suffix}")
        produce(boot, f"{prefix}-{suffix}", [(0, {"id": i, "src": suffix}) for i in range(3)])
    root = write_project(
        tmp_path / "proj",
        f"""
name: pattern
sources:
  clicks:
    uri: kafka://{boot}
    topic_pattern: "{prefix}-[ab]"
    group_id: g-{prefix}
streams:
  raw:
    source: clicks
    table: raw
    max_interval: 0.5s
""",
    )
    once(root, "raw")
    rows = table(root, "raw")
    assert sorted((r["_topic"], r["id"]) for r in rows) == [
        (f"{prefix}-{s}", i) for s in ("a", "b") for i in range(3)
    ]


def test_once_with_a_pattern_no_topic_matches_stops_and_says_so(kafka_service, tmp_path):
    from duckpipe.core.console import Console

    class Warnings(Console):
        def __init__(self) -> None:
            self.seen: list[str] = []

        def warn(self, message: str) -> None:
            self.seen.append(message)

    prefix = f"none-{uuid.uuid4().hex[:6]}"
    root = write_project(
        tmp_path / "proj",
        f"""
name: pattern
sources:
  clicks:
    uri: kafka://{kafka_service.bootstrap}
    topic_pattern: "{prefix}-.*"
    group_id: g-{prefix}
streams:
  raw:
    source: clicks
    table: raw
""",
    )
    console = Warnings()
    report = run_stream(load_project(root), "raw", StreamOptions(once=True), console=console)
    assert report.records == 0 and report.stopped_by == "once"
    assert [w for w in console.seen if f"matches the pattern '{prefix}-.*'" in w]
    assert not load_project(root).open_lake().exists("raw")


@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python"])
def test_the_kafka_source_reads_a_bounded_range(kafka_service, topic, client):
    from duckpipe.config import SourceConfig
    from duckpipe.sources import make_source

    boot = kafka_service.bootstrap
    produce(boot, topic, [(i % 2, click(i)) for i in range(10)], transactional_id=f"s-{topic}")
    produce(boot, topic, [(0, click(99))], transactional_id=f"s-{topic}", abort=True)
    cfg = SourceConfig(uri=f"kafka://{boot}", topics=[topic], client=client)
    source = make_source("clicks", cfg)
    first = source.extract(source.plan(None))
    rows = first.reader.read_all()
    assert sorted(rows.column("id").to_pylist()) == list(range(10))
    position = first.next_position()
    # partition 0: 5 records, a commit marker, the aborted record and its abort marker
    assert position == {"offsets": {topic: {"0": 8, "1": 6}}}
    produce(boot, topic, [(1, click(10))])
    second = source.extract(source.plan(position))
    assert second.reader.read_all().column("id").to_pylist() == [10]


def test_late_events_land_in_the_dlq_and_change_no_window(kafka_service, topic, tmp_path):
    boot = kafka_service.bootstrap
    produce(boot, topic, [(i % 2, click(i)) for i in range(200)])
    root = project(tmp_path, boot, topic, "delta", WINDOWED.format(mode="append"))
    once(root, "per_user")
    before = windows_of(table(root, "clicks_per_user"))
    late = {**click(5), "id": 10_000}  # 39 seconds behind the watermark
    produce(boot, topic, [(0, late), (1, click(200))])
    report = once(root, "per_user")
    assert report.dead_letters == 1
    dead = table(root, "_dlq/per_user")
    assert [r["reason"].split(":")[0] for r in dead] == ["late event"]
    assert dead[0]["_partition"] == 0 and b'"id": 10000' in dead[0]["_value"]
    after = windows_of(table(root, "clicks_per_user"))
    assert {k: v for k, v in after.items() if k in before} == before


def test_start_latest_skips_what_was_there_and_keeps_what_comes(kafka_service, topic, tmp_path):
    boot = kafka_service.bootstrap
    produce(boot, topic, [(i % 2, click(i)) for i in range(20)])
    root = project(tmp_path, boot, topic, "delta", RAW + "    start: latest\n")
    once(root, "raw")  # nothing new yet: the position is stored at the end
    produce(boot, topic, [(i % 2, click(i)) for i in range(20, 30)])
    once(root, "raw")
    assert sorted(r["id"] for r in table(root, "clicks_raw")) == list(range(20, 30))
