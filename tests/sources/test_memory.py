from datetime import UTC, datetime

import pyarrow as pa
import pytest

from duckpipe.config import SourceConfig
from duckpipe.core.errors import ConfigError, SourceError
from duckpipe.sources import make_source
from duckpipe.sources.memory import MemorySource


def test_memory_source_is_incremental_by_watermark():
    t = pa.timestamp("us", tz="UTC")
    MemorySource.publish(
        "memory://events",
        pa.table({"id": [1, 2, 3], "at": pa.array([1_000_000, 2_000_000, 3_000_000], t)}),
    )
    cfg = SourceConfig(uri="memory://events", watermark_column="at", lookback="1s")
    source = make_source("events", cfg)
    first = source.extract(source.plan(None))
    assert first.reader.read_all().column("id").to_pylist() == [1, 2, 3]
    position = first.next_position()
    assert position["watermark"] == datetime(1970, 1, 1, 0, 0, 3, tzinfo=UTC).isoformat()
    again = source.plan(position)
    assert again.description == "at > 1970-01-01 00:00:02+00:00"
    assert source.extract(again).reader.read_all().column("id").to_pylist() == [3]


def test_nothing_published_is_a_clear_error():
    source = make_source("x", SourceConfig(uri="memory://nothing-here"))
    with pytest.raises(SourceError, match="nothing is published"):
        source.extract(source.plan(None))


def test_unknown_source_type_is_a_config_error():
    cfg = SourceConfig(uri="memory://x")
    object.__setattr__(cfg, "type", "postgress")
    with pytest.raises(ConfigError) as err:
        make_source("x", cfg)
    assert "did you mean 'postgres'" in str(err.value)
