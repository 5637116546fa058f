"""Replays: ``--from-offset`` / ``--from-timestamp`` turned into start offsets per partition.

A replay re-reads records that were already published; the stream writes them with a
merge (by offset, or by window key) until it is past the committed position again,
so nothing already published is duplicated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.core.errors import ConfigError

if TYPE_CHECKING:
    from duckpipe.kafka.client import Consumer
    from duckpipe.kafka.positions import Offsets
    from duckpipe.streaming.options import StreamOptions


def replay_targets(consumer: Consumer, options: StreamOptions, *, windowed: bool) -> Offsets:
    """Start offsets for every partition the replay names (all of them for a timestamp)."""
    from duckpipe.kafka.positions import parse_from_offsets

    partitions = consumer.partitions()
    if options.from_timestamp is not None:
        millis = int(options.from_timestamp.timestamp() * 1000)
        return consumer.offsets_for_time(partitions, millis)
    wanted = parse_from_offsets(options.from_offsets, sorted({t for t, _ in partitions}))
    listed = "partitions: " + ", ".join(f"{t}/{p}" for t, p in partitions)
    unknown = [tp for tp in wanted if tp not in partitions]
    if unknown:
        raise ConfigError(
            f"--from-offset names partition {unknown[0][0]}/{unknown[0][1]}, "
            "which this stream does not read",
            where="--from-offset",
            hint=listed,
        )
    if windowed and set(wanted) != set(partitions):
        raise ConfigError(
            "a windowed stream replays all its partitions together",
            where="--from-offset",
            hint=f"give --from-offset for each of the {listed}, or use --from-timestamp",
        )
    return wanted
