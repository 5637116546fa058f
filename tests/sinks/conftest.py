"""One ``lake`` fixture for the sink contract: memory, Delta and Iceberg, on disk and on S3."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from duckpipe.sinks import Sink, open_sink

LAKES = [
    pytest.param(("memory", "local"), id="memory"),
    pytest.param(("delta", "local"), id="delta-local"),
    pytest.param(("iceberg", "local"), id="iceberg-local"),
    pytest.param(("delta", "s3"), id="delta-s3", marks=pytest.mark.s3),
    pytest.param(("iceberg", "s3"), id="iceberg-s3", marks=pytest.mark.s3),
]
FILE_LAKES = [p for p in LAKES if p.id != "memory"]


def _factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Sink]:
    fmt, place = request.param
    if fmt == "memory":
        uri = f"memory://{uuid.uuid4().hex}"
        return lambda: open_sink(uri)
    options: dict[str, str] | None = None
    root = str(tmp_path / "lake")
    if place == "s3":
        s3 = request.getfixturevalue("s3_service")
        bucket = s3.make_bucket()
        root, options = f"s3://{bucket}/lake", s3.delta_storage_options()
    state = tmp_path / ".duckpipe"
    return lambda: open_sink(root, format=fmt, storage_options=options, state_dir=state)


@pytest.fixture(params=LAKES)
def make_lake(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Sink]:
    """A function that opens the same (initially empty) lake again each time it is called."""
    return _factory(request, tmp_path)


@pytest.fixture
def lake(make_lake: Callable[[], Sink]) -> Sink:
    return make_lake()


@pytest.fixture(params=FILE_LAKES)
def file_lake(request: pytest.FixtureRequest, tmp_path: Path) -> Sink:
    """Only the lakes that keep files (for compaction, vacuum and pruning)."""
    return _factory(request, tmp_path)()
