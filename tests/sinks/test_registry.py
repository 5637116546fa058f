"""open_sink picks a sink from one registry: by URI scheme first, then by table format."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from duckpipe.core.errors import ConfigError
from duckpipe.sinks import AVAILABLE_SINKS, open_sink, sink_kind


def test_every_kind_is_registered() -> None:
    assert set(AVAILABLE_SINKS) == {"memory", "delta", "iceberg"}


@pytest.mark.parametrize(
    ("uri", "fmt", "expected"),
    [
        ("./lake", "delta", ("delta", "./lake")),
        ("./lake", "iceberg", ("iceberg", "./lake")),
        ("s3://bucket/lake", "iceberg", ("iceberg", "s3://bucket/lake")),
        ("delta://./lake", "iceberg", ("delta", "./lake")),
        ("iceberg:///data/lake", "delta", ("iceberg", "/data/lake")),
        ("memory://unit", "iceberg", ("memory", "memory://unit")),
    ],
)
def test_scheme_names_the_sink_else_the_format_does(uri: str, fmt: str, expected: tuple) -> None:
    assert sink_kind(uri, fmt) == expected


def test_scheme_opens_that_format_on_disk(tmp_path: Path) -> None:
    delta = open_sink(f"delta://{tmp_path / 'd'}", format="iceberg")
    iceberg = open_sink(f"iceberg://{tmp_path / 'i'}", state_dir=tmp_path / "state")
    assert (delta.format, delta.root) == ("delta", str(tmp_path / "d"))
    assert (iceberg.format, iceberg.root) == ("iceberg", str(tmp_path / "i"))
    delta.write("t", pa.table({"id": [1, 2]}))
    iceberg.write("t", pa.table({"id": [3]}))
    assert (tmp_path / "d" / "t" / "_delta_log").is_dir()
    assert iceberg.dataset("t").to_table().column("id").to_pylist() == [3]


def test_memory_uri_is_one_lake_per_name() -> None:
    assert open_sink("memory://registry-a") is open_sink("memory://registry-a", format="iceberg")
    assert open_sink("memory://registry-a") is not open_sink("memory://registry-b")


def test_unknown_format_says_which_exist() -> None:
    with pytest.raises(ConfigError, match="unknown table format 'icberg'") as err:
        open_sink("./lake", format="icberg")
    assert "iceberg" in (err.value.hint or "")
