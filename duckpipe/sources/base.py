"""The Source protocol: something that yields Arrow record batches and a position."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class ExtractRange:
    """What one extraction will read: pure data, printed by ``--dry-run``.

    ``start`` is the stored position (None: a full load); ``description`` is the
    human-readable range ("updated_at > 2024-01-01 (lookback 1h)", "3 new files").
    """

    source: str
    start: dict[str, Any] | None
    description: str
    full_refresh: bool = False
    details: dict[str, Any] = field(default_factory=dict)


def _nothing() -> None:
    return None


@dataclass
class Extraction:
    """A running extraction: a stream of batches and, once consumed, the position it reached.

    ``close`` releases the source's connections early (after an error); reading the
    reader to its end releases them too. ``unique_on`` names columns the source itself
    guarantees unique (a primary key constraint), so the landing need not check them.
    ``warnings`` are shown by the run (e.g. a column landed as text, and why).
    """

    reader: pa.RecordBatchReader
    next_position: Callable[[], dict[str, Any] | None]
    close: Callable[[], None] = _nothing
    unique_on: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class Source(Protocol):
    """A source of Arrow record batches, chosen by URI scheme."""

    name: str

    def plan(self, position: dict[str, Any] | None, *, full_refresh: bool = False) -> ExtractRange:
        """Describe what ``extract`` would read from ``position``; no I/O beyond metadata."""
        ...

    def extract(self, extract_range: ExtractRange) -> Extraction:
        """Start reading ``extract_range``; memory stays bounded by the batch size."""
        ...
