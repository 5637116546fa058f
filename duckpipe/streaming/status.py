"""The live status of a running stream: records/s, commits, lag per partition, DLQ count."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from duckpipe.kafka.positions import TopicPartition


@dataclass
class StreamStatus:
    """Counters the loop updates; ``line()`` is what the terminal shows."""

    stream: str
    records: int = 0
    commits: int = 0
    dead_letters: int = 0
    windows: int = 0
    lag: dict[TopicPartition, int] = field(default_factory=dict)
    outage: str = ""
    """``broker down 12s (7 attempts)`` while Kafka cannot be reached; empty otherwise."""
    started: float = field(default_factory=time.monotonic)
    _window_start: float = field(default_factory=time.monotonic)
    _window_records: int = 0
    rate: float = 0.0

    def add(self, records: int) -> None:
        self.records += records
        self._window_records += records

    def tick(self) -> None:
        """Recompute records/s over the time since the last tick."""
        now = time.monotonic()
        elapsed = now - self._window_start
        if elapsed > 0:
            self.rate = self._window_records / elapsed
        self._window_start, self._window_records = now, 0

    def line(self) -> str:
        lag = " ".join(f"{t}/{p}={n:,}" for (t, p), n in sorted(self.lag.items())) or "-"
        line = (
            f"{self.stream}: {self.rate:,.0f} rec/s · {self.records:,} records · "
            f"{self.commits:,} commits · lag {lag} · dlq {self.dead_letters:,}"
        )
        return f"{line} · {self.outage}" if self.outage else line

    def fields(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "records": self.records,
            "records_per_second": round(self.rate, 1),
            "commits": self.commits,
            "dead_letters": self.dead_letters,
            "windows_emitted": self.windows,
            "lag": {f"{t}/{p}": n for (t, p), n in sorted(self.lag.items())},
            "broker": self.outage or "up",
            "seconds": round(time.monotonic() - self.started, 3),
        }
