"""A broker that cannot be reached, or a topic that does not exist: clear errors, in bounded time."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from duckpipe.core.console import NullConsole
from duckpipe.core.errors import SourceError, StreamError
from duckpipe.project import load_project
from duckpipe.streaming import StreamOptions, run_stream
from duckpipe.streaming.outage import ONCE_GIVE_UP, give_up_seconds
from tests.services.process import free_port
from tests.streaming.helpers import write_project
from tests.streaming.procs import run_once

ATTEMPT = 12.0
"""Longest single attempt to reach a broker (librdkafka's metadata request waits 10 s)."""


def project(tmp_path: Path, bootstrap: str, topic: str, extra: str = "") -> Path:
    return write_project(
        tmp_path / "proj",
        f"""
name: outage
sources:
  events:
    uri: kafka://{bootstrap}
    topics: [{topic}]
    group_id: g-{topic}
streams:
  raw:
    source: events
    table: events
    max_interval: 0.3s
{extra}""",
    )


def test_the_give_up_time_comes_from_the_option_then_the_stream_then_the_mode():
    assert give_up_seconds(None, None, once=True) == ONCE_GIVE_UP == 60.0
    assert give_up_seconds(None, None, once=False) is None  # a long-running stream keeps trying
    assert give_up_seconds(None, 300.0, once=False) == 300.0
    assert give_up_seconds(5.0, 300.0, once=True) == 5.0
    assert give_up_seconds(0.0, 300.0, once=True) is None  # --give-up-after never


@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python"])
def test_once_gives_up_on_a_broker_that_is_not_there(tmp_path, client):
    dead = f"127.0.0.1:{free_port()}"  # a closed loopback port: connections are refused
    root = project(tmp_path, dead, "clicks")
    started = time.monotonic()
    result = run_once(root, "raw", "--give-up-after", "2s", "--client", client, timeout=90)
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-2000:]
    error = result.stderr
    assert "streams.raw: gave up after" in error
    assert f"the Kafka broker at {dead} could not be reached for topic clicks" in error
    assert "hint: check that the broker is running" in error
    assert took < 2 + ATTEMPT + 10, error  # the bound, one attempt and process start-up
    assert "Connect to ipv4" not in error  # librdkafka's per-attempt log stays off the terminal
    assert not load_project(root).open_lake().exists("events")  # nothing was committed


def test_run_stream_gives_up_after_the_streams_give_up_after(tmp_path):
    dead = f"127.0.0.1:{free_port()}"
    root = project(tmp_path, dead, "clicks", "    give_up_after: 1s\n")
    started = time.monotonic()
    with pytest.raises(StreamError) as caught:
        run_stream(load_project(root), "raw", StreamOptions(once=True), console=NullConsole())
    assert time.monotonic() - started < 1 + ATTEMPT
    err = caught.value
    assert err.where == "streams.raw"
    assert err.message.startswith("gave up after ")
    assert f"the Kafka broker at {dead} could not be reached for topic clicks" in err.message
    assert "give_up_after" in (err.hint or "")
    assert not load_project(root).open_lake().exists("events")


def test_a_bad_give_up_after_is_a_usage_error(tmp_path):
    root = project(tmp_path, "127.0.0.1:9", "clicks")
    result = run_once(root, "raw", "--give-up-after", "soon")
    assert result.returncode == 2
    assert "'soon' is not a duration" in result.stderr


@pytest.mark.kafka
def test_a_topic_that_does_not_exist_fails_fast_with_a_hint(kafka_service, tmp_path):
    """As Flink's KafkaSource does for a named topic: waiting could hide a typo for ever."""
    real = f"orders-{uuid.uuid4().hex[:6]}"
    from tests.streaming.helpers import create_topic

    create_topic(kafka_service.bootstrap, real)
    root = project(tmp_path, kafka_service.bootstrap, real[:-1] + "x")
    started = time.monotonic()
    result = run_once(root, "raw", timeout=90)
    assert result.returncode == 1, result.stderr[-2000:]
    assert time.monotonic() - started < 30
    assert f"topic '{real[:-1]}x' does not exist on {kafka_service.bootstrap}" in result.stderr
    assert f"did you mean '{real}'?" in result.stderr
    with pytest.raises(SourceError, match="does not exist"):
        run_stream(load_project(root), "raw", StreamOptions(once=True), console=NullConsole())
