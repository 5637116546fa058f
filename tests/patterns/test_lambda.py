"""The lambda template against a real Kafka broker: batch layer, speed layer, serving view."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from tests.patterns.helpers import (
    duckpipe,
    hourly_page_stats,
    init_project,
    own_topic,
    page_stats_of,
    produce,
    query,
    read_ndjson,
)

pytestmark = pytest.mark.kafka

HISTORY = "data/events/2025-06-01T00.ndjson"
INCOMING = "data/incoming/2025-06-01T06.ndjson"


def test_serving_view_answers_from_the_speed_layer_until_the_batch_layer_catches_up(
    kafka_service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_service.bootstrap)
    root = init_project(tmp_path, "lambda")
    topic = own_topic(root, "lambda.clicks", "lambda_clicks")
    history, recent = read_ndjson(root / HISTORY), read_ndjson(root / INCOMING)

    # every event of the day goes to Kafka; only the history has reached the master dataset
    produce(root, kafka_service.bootstrap, topic, HISTORY, INCOMING)
    duckpipe(root, "stream", "speed", "--once")
    duckpipe(root, "run")

    speed = page_stats_of(query(root, "select * from speed_page_stats"))
    assert speed == hourly_page_stats(history + recent)
    serving = query(root, "select * from page_stats")
    from_batch = page_stats_of(r for r in serving if r["layer"] == "batch")
    from_speed = page_stats_of(r for r in serving if r["layer"] == "speed")
    assert from_batch == hourly_page_stats(history)
    assert from_speed == hourly_page_stats(recent)  # the recent windows, before the batch has them
    batch_watermark = max(start for _, start in from_batch) + timedelta(hours=1)
    assert min(start for _, start in from_speed) == batch_watermark
    assert len(speed) > len(from_speed)  # older speed windows are superseded by the batch layer

    # the dump of the recent events reaches the master dataset: the batch layer catches up
    shutil.copy(root / INCOMING, root / "data" / "events")
    duckpipe(root, "run")

    serving = query(root, "select * from page_stats order by page, window_start")
    batch_only = query(
        root, "select *, 'batch' as layer from batch_page_stats order by page, window_start"
    )
    assert serving == batch_only
    assert page_stats_of(serving) == hourly_page_stats(history + recent)
    assert page_stats_of(serving) == speed  # both layers agree on every window
