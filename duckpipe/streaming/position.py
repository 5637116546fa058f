"""What a stream commits with every batch: offsets, and for windows, where to re-read from.

Stored as the value of ``Position(writer_id="stream:<name>")`` in the lake commit::

    {"offsets": {"clicks": {"0": 1042, "1": 977}},        # next offset to read
     "replay_from": {"clicks": {"0": 1001, "1": 950}},    # oldest event of an open window
     "watermark_us": 1717171717000000,                     # event-time watermark
     "event_time_us": {"clicks": {"0": ..., "1": ...}}}    # newest event time per partition
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from duckpipe.kafka.positions import Offsets, flatten, nest


def writer_id(stream: str) -> str:
    return f"stream:{stream}"


def dlq_table(stream: str) -> str:
    return f"_dlq/{stream}"


@dataclass
class StreamPosition:
    """Offsets per partition (plus the window state's restart point)."""

    offsets: Offsets = field(default_factory=dict)
    replay_from: Offsets = field(default_factory=dict)
    watermark_us: int | None = None
    event_time: Offsets = field(default_factory=dict)

    @classmethod
    def from_value(cls, value: dict[str, Any] | None) -> StreamPosition:
        value = value or {}
        return cls(
            offsets=flatten(value.get("offsets")),
            replay_from=flatten(value.get("replay_from")),
            watermark_us=value.get("watermark_us"),
            event_time=flatten(value.get("event_time_us")),
        )

    def to_value(self) -> dict[str, Any]:
        value: dict[str, Any] = {"offsets": nest(self.offsets)}
        if self.replay_from:
            value["replay_from"] = nest(self.replay_from)
        if self.watermark_us is not None:
            value["watermark_us"] = self.watermark_us
        if self.event_time:
            value["event_time_us"] = nest(self.event_time)
        return value

    def advanced(self, offsets: Offsets) -> Offsets:
        """``offsets`` merged in, never moving a partition backwards (replays re-read)."""
        merged = dict(self.offsets)
        for tp, offset in offsets.items():
            merged[tp] = max(offset, merged.get(tp, offset))
        return merged
