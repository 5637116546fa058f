"""Where a reader stands in Kafka: partitions, offsets and the two symbolic starts.

Offsets are "next offset to read", as Kafka commits them. Stored positions nest them
by topic and partition (``{"clicks": {"0": 1042}}``), the form JSON commit metadata
keeps; ``nest`` and ``flatten`` convert.

>>> nest({("clicks", 1): 977, ("clicks", 0): 1042})
{'clicks': {'0': 1042, '1': 977}}
>>> flatten({"clicks": {"0": 1042}})
{('clicks', 0): 1042}
"""

from __future__ import annotations

from typing import Any

from duckpipe.core.errors import ConfigError

TopicPartition = tuple[str, int]
Offsets = dict[TopicPartition, int]
BEGINNING = -2
"""Start offset meaning: the oldest record still in the partition."""
END = -1
"""Start offset meaning: after the newest record (only new records are read)."""


def nest(offsets: Offsets) -> dict[str, dict[str, int]]:
    """``{(topic, partition): offset}`` -> ``{topic: {"partition": offset}}``."""
    out: dict[str, dict[str, int]] = {}
    for (topic, partition), offset in sorted(offsets.items()):
        out.setdefault(topic, {})[str(partition)] = int(offset)
    return out


def flatten(nested: dict[str, dict[str, Any]] | None) -> Offsets:
    """``{topic: {"partition": offset}}`` -> ``{(topic, partition): offset}``."""
    return {
        (topic, int(partition)): int(offset)
        for topic, parts in (nested or {}).items()
        for partition, offset in parts.items()
    }


def parse_from_offsets(specs: tuple[str, ...] | list[str], topics: list[str]) -> Offsets:
    """``--from-offset`` values: ``PARTITION:OFFSET`` (one topic) or ``TOPIC:PARTITION:OFFSET``."""
    out: Offsets = {}
    for spec in specs:
        parts = spec.rsplit(":", 2)
        try:
            if len(parts) == 3:
                tp: TopicPartition = (parts[0], int(parts[1]))
            elif len(parts) == 2 and len(topics) == 1:
                tp = (topics[0], int(parts[0]))
            else:
                raise ValueError
            offset = int(parts[-1])
            if offset < 0 or tp[1] < 0:
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"invalid --from-offset '{spec}'",
                where="--from-offset",
                hint="write PARTITION:OFFSET (one topic) or TOPIC:PARTITION:OFFSET, e.g. 0:1200",
            ) from None
        out[tp] = offset
    return out
