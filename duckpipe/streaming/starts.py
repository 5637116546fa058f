"""Where a newly assigned partition starts reading: the lake's position, never the group's.

Each assignment positions every partition from the stream's committed position
(``position.py``), in this order of precedence:

- a replay target (``--from-offset`` / ``--from-timestamp``); when it lies below the
  committed offset, the partition is *replaying* until it gets back there;
- for windowed streams, the oldest event of an open window (``replay_from``): the
  records between it and the committed offset rebuild the windows (*restore*);
- the committed offset;
- with nothing committed, ``start: earliest|latest``: an offset looked up before
  joining the group, else ``BEGINNING`` / ``END``, resolved once the assignment is
  in (the assignment callback may not ask Kafka).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from duckpipe.kafka.positions import BEGINNING, END, Offsets, TopicPartition

if TYPE_CHECKING:
    from duckpipe.kafka.client import Consumer
    from duckpipe.streaming.position import StreamPosition

T = TypeVar("T")
Retrying = Callable[[Callable[[], T], str], T]


@dataclass
class Starts:
    """The start of each assigned partition and the ranges read again before new records."""

    offsets: Offsets
    """Next offset to read; ``BEGINNING`` / ``END`` where it is not known yet."""
    restore_until: Offsets
    """Windowed streams: read from the oldest open window's event up to here to restore them."""
    replay_until: Offsets
    """Replays that start below the committed offset: replaying up to here."""


def plan_starts(
    partitions: list[TopicPartition],
    stored: StreamPosition,
    replay: Offsets,
    *,
    windowed: bool,
    start: Literal["earliest", "latest"],
    first_offsets: Offsets,
) -> Starts:
    """Where ``partitions`` start, from the lake's ``stored`` position and a ``replay``."""
    starts: Offsets = {}
    restore_until: Offsets = {}
    replay_until: Offsets = {}
    for tp in partitions:
        committed = stored.offsets.get(tp)
        if tp in replay:
            starts[tp] = replay[tp]
            if committed is not None and replay[tp] < committed:
                replay_until[tp] = committed
        elif windowed and tp in stored.replay_from and committed:
            starts[tp] = min(stored.replay_from[tp], committed)
            if starts[tp] < committed:
                restore_until[tp] = committed
        elif committed is not None:
            starts[tp] = committed
        else:
            fallback = BEGINNING if start == "earliest" else END
            starts[tp] = first_offsets.get(tp, fallback)
    return Starts(starts, restore_until, replay_until)


def first_offsets(consumer: Consumer, start: Literal["earliest", "latest"]) -> Offsets:
    """Where partitions without a stored position start (``start: earliest|latest``).

    Looked up before joining the group: the assignment callback may not ask Kafka.
    """
    partitions = consumer.partitions()
    if start == "earliest":
        return consumer.beginning_offsets(partitions)
    return consumer.end_offsets(partitions)


def resolve_starts(consumer: Consumer, unresolved: Offsets, retrying: Retrying[Offsets]) -> Offsets:
    """The real offsets behind ``BEGINNING`` / ``END`` starts, once the assignment is in."""
    first = [tp for tp, o in unresolved.items() if o == BEGINNING]
    resolved: Offsets = {}
    if first:
        found = retrying(lambda: consumer.beginning_offsets(first), "reading offsets")
        for tp, offset in found.items():
            resolved.setdefault(tp, offset)
    for tp in [tp for tp, o in unresolved.items() if o == END]:
        position = consumer.position(tp)
        if position is not None:
            resolved.setdefault(tp, position)
    return resolved
