"""Stream processes a test started are killed when it ends, whatever happened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.streaming.procs import StreamProcess


@pytest.fixture(autouse=True)
def _no_stream_left_running() -> Iterator[None]:
    yield
    while StreamProcess.started:
        proc = StreamProcess.started.pop()
        if proc.running():
            proc.kill()
