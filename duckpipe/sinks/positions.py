"""Source positions stored inside lake commits.

Each writer's position carries a sequence number that grows by one per commit of that
writer. The number fences writers: two processes committing for the same writer id
from the same starting point cannot both succeed (the second gets a CommitConflict
that is not retried, because its rows were computed from a stale position).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from duckpipe.core.errors import CommitConflict
from duckpipe.sinks.base import Position

POSITIONS_KEY = "duckpipe.positions"
"""Delta commit metadata key: JSON {writer_id: {"seq": n, "value": {...}}} for every writer."""

PROPERTY_PREFIX = "duckpipe.position."
"""Iceberg table property / snapshot summary prefix: one key per writer."""


@dataclass(frozen=True)
class StoredPosition:
    """A position as committed: the writer's value plus its commit sequence number."""

    writer_id: str
    seq: int
    value: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "value": self.value}, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, writer_id: str, raw: str | dict[str, Any]) -> StoredPosition:
        data = json.loads(raw) if isinstance(raw, str) else raw
        return cls(writer_id, int(data["seq"]), dict(data["value"]))

    def position(self) -> Position:
        return Position(self.writer_id, self.value)


def encode_map(positions: dict[str, StoredPosition]) -> str:
    return json.dumps(
        {w: {"seq": p.seq, "value": p.value} for w, p in sorted(positions.items())},
        sort_keys=True,
        default=str,
    )


def decode_map(raw: str | None) -> dict[str, StoredPosition]:
    if not raw:
        return {}
    data = json.loads(raw)
    return {w: StoredPosition.from_json(w, v) for w, v in data.items()}


def stale_writer(table: str, writer_id: str) -> CommitConflict:
    """The non-retryable conflict raised when another process committed for ``writer_id``."""
    return CommitConflict(
        f"another process committed to table '{table}' as writer '{writer_id}' while this "
        "write was in progress",
        where=table,
        hint="run one copy of a pipeline at a time; this write was not committed and the "
        "next run starts from the position the other process stored",
        retryable=False,
    )
