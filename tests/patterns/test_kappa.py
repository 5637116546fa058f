"""The kappa template against a real Kafka broker: tables are streams, rebuilt by replay."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from tests.patterns.helpers import (
    duckpipe,
    hourly_page_stats,
    init_project,
    lake_of,
    money,
    own_topic,
    page_stats_of,
    produce,
    query,
    read_ndjson,
    rows_of,
)

pytestmark = pytest.mark.kafka

STREAMS = {"events": "events", "page_stats": "page_stats", "purchases": "purchases"}
FROM_ZERO = ("--from-offset", "0:0", "--from-offset", "1:0")


@pytest.fixture
def kappa(kafka_service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The kappa project with its sample events on the broker and every stream run once."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_service.bootstrap)
    root = init_project(tmp_path, "kappa")
    topic = own_topic(root, "kappa.clicks", "kappa_clicks")
    produce(root, kafka_service.bootstrap, topic, "data/clicks.ndjson")
    for stream in STREAMS:
        duckpipe(root, "stream", stream, "--once")
    duckpipe(root, "run")
    return root


def test_every_table_is_a_stream_over_the_topic(kappa: Path) -> None:
    clicks = read_ndjson(kappa / "data" / "clicks.ndjson")
    events = query(kappa, "select event_id, _partition, _offset from events")
    assert sorted(e["event_id"] for e in events) == sorted(c["event_id"] for c in clicks)
    assert len({(e["_partition"], e["_offset"]) for e in events}) == len(clicks)

    assert page_stats_of(query(kappa, "select * from page_stats")) == hourly_page_stats(clicks)

    bought = [c for c in clicks if c["action"] == "purchase"]
    purchases = query(kappa, "select event_id, user_id, amount from purchases")
    assert {p["event_id"]: (p["user_id"], p["amount"]) for p in purchases} == {
        c["event_id"]: (c["user_id"], money(c["amount"])) for c in bought
    }
    expected: dict[str, list] = defaultdict(lambda: [0, Decimal("0.00")])
    for c in bought:
        expected[c["user_id"]][0] += 1
        expected[c["user_id"]][1] += money(c["amount"])
    revenue = query(kappa, "select * from revenue_by_user")
    assert {r["user_id"]: [r["purchases"], r["revenue"]] for r in revenue} == dict(expected)


@pytest.mark.parametrize(
    ("stream", "table"), [("page_stats", "page_stats"), ("purchases", "purchases")]
)
def test_a_replay_from_offset_zero_rebuilds_the_table_as_a_new_version(
    kappa: Path, stream: str, table: str
) -> None:
    lake = lake_of(kappa)
    original, version = rows_of(lake, table), lake.version(table)
    assert original
    lake.write(table, lake.schema(table).empty_table(), mode="overwrite")  # the table is lost
    assert rows_of(lake_of(kappa), table) == set()

    out = duckpipe(kappa, "stream", stream, "--once", "--format", "json", *FROM_ZERO).output
    print("\n".join(x for x in out.splitlines() if "status" not in x))
    print(
        [
            (c["version"], c["operation"], c["metrics"].get("num_source_rows"))
            for c in lake_of(kappa).history(table)
        ]
    )

    lake = lake_of(kappa)
    assert rows_of(lake, table) == original
    assert lake.version(table) > version + 1  # a new version on top of the emptied one
    assert rows_of(lake, table, version=version) == original  # the old one is still readable
