"""`streams:` configuration and the `duckpipe stream` command's errors, without a broker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from duckpipe.config import parse_config
from duckpipe.core.errors import ConfigError
from duckpipe.kafka.settings import bootstrap_of
from duckpipe.project import load_project
from duckpipe.sources.kafka import KafkaSource
from duckpipe.streaming import StreamOptions, run_stream
from tests.streaming.helpers import write_project

PROJECT = """
name: cli
sources:
  clicks:
    uri: kafka://127.0.0.1:9
    topics: [clicks]
  files:
    uri: ./data/*.csv
streams:
  per_minute:
    source: clicks
    table: per_minute
    max_interval: 250ms
    window: {type: hopping, size: 1m, slide: 15s, allowed_lateness: 5s}
  from_files:
    source: files
    table: t
  missing:
    source: clickz
    table: t
"""


def test_window_durations_are_parsed():
    config = parse_config(PROJECT)
    stream = config.streams["per_minute"]
    assert stream.max_interval == 0.25
    assert stream.window is not None
    assert (stream.window.size, stream.window.slide, stream.window.allowed_lateness) == (60, 15, 5)
    assert stream.window.time_column == "_timestamp"


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("{type: session, size: 1m}", "a session window needs 'gap'"),
        ("{type: hopping, size: 1m}", "a hopping window needs 'slide'"),
        ("{type: tumbling, size: soon}", "not a duration: 'soon'"),
        (
            "{type: tumbling, sise: 1m}",
            "unknown key 'sise' at 'streams.s.window.sise' (hint: did you mean 'size'",
        ),
    ],
)
def test_window_errors_name_the_line_and_the_fix(window, message):
    text = f"streams:\n  s:\n    source: k\n    table: t\n    window: {window}\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert "duckpipe.yml:5" in str(err.value)
    assert message in str(err.value)


def test_unknown_stream_and_wrong_sources_are_clear(tmp_path: Path):
    project = load_project(write_project(tmp_path / "p", PROJECT))
    with pytest.raises(ConfigError) as err:
        run_stream(project, "per_minut", StreamOptions(once=True))
    assert "no stream named 'per_minut'" in str(err.value) and "per_minute" in str(err.value)
    with pytest.raises(ConfigError) as err:
        run_stream(project, "from_files", StreamOptions(once=True))
    assert "not a Kafka source" in str(err.value) and "streams.from_files.source" in str(err.value)
    with pytest.raises(ConfigError) as err:
        run_stream(project, "missing", StreamOptions(once=True))
    assert "did you mean 'clicks'" in str(err.value)


def test_the_command_prints_one_line_and_exits_non_zero(tmp_path: Path):
    root = write_project(tmp_path / "p", PROJECT)
    duckpipe = [
        sys.executable,
        "-c",
        "from duckpipe.cli import main; main()",
        "--project",
        str(root),
    ]
    result = subprocess.run(
        [*duckpipe, "stream", "per_minut"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: streams: no stream named 'per_minut' (hint: did you mean 'per_minute'?)"
    ]
    both = [*duckpipe, "stream", "per_minute", "--from-offset", "0:1", "--from-timestamp", "1"]
    result = subprocess.run(both, capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "either --from-offset or --from-timestamp" in result.stderr
    bad_time = [*duckpipe, "stream", "per_minute", "--from-timestamp", "yesterday"]
    result = subprocess.run(bad_time, capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "ISO-8601" in result.stderr


@pytest.mark.parametrize(
    ("uri", "hint"),
    [
        ("http://h:1", "kafka://host:port"),
        ("kafka://", "kafka://host:port"),
        ("kafka://host", "host:port"),
    ],
)
def test_kafka_uris_are_checked(uri, hint):
    with pytest.raises(ConfigError) as err:
        bootstrap_of(uri, where="sources.k.uri")
    assert hint in str(err.value) and "sources.k.uri" in str(err.value)


def test_kafka_source_plans_from_its_position_without_io():
    from duckpipe.config import SourceConfig

    source = KafkaSource("k", SourceConfig(uri="kafka://h1:9092,h2:9092/a,b"))
    assert source.settings.bootstrap == "h1:9092,h2:9092"
    assert source.settings.topics == ("a", "b")
    fresh = source.plan(None)
    assert fresh.start is None and fresh.description == "a, b (from the beginning)"
    later = source.plan({"offsets": {"a": {"0": 5}}})
    assert later.details == {"offsets": {"a": {"0": 5}}}
    assert "a/0 from offset 5" in later.description
    with pytest.raises(ConfigError) as err:
        KafkaSource("k", SourceConfig(uri="kafka://h:1"))
    assert "names no topic" in str(err.value)
