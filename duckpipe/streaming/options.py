"""How a stream run is asked to behave, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class StreamOptions:
    """How ``duckpipe stream`` runs: until stopped, or ``once`` up to the current end."""

    once: bool = False
    from_offsets: tuple[str, ...] = ()
    from_timestamp: datetime | None = None
    client: str | None = None
    status_interval: float = 1.0
    idle_exit: float | None = None
    give_up_after: float | None = None
    """Seconds an unreachable broker is retried before the run fails; None: the stream's
    ``give_up_after``, else 60 s with ``once`` and never without; 0: never."""
    skip_checks: bool = False


@dataclass
class StreamReport:
    """What a stream run did."""

    stream: str
    records: int = 0
    batches: int = 0
    commits: int = 0
    dead_letters: int = 0
    windows: int = 0
    seconds: float = 0.0
    stopped_by: str = "end"
    offsets: dict[str, dict[str, int]] = field(default_factory=dict)
