"""Run ids: one per ``duckpipe run``, ``check``, dead-letter replay or ingester, sortable by time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_run_id() -> str:
    """``20260102T030405-1a2b3c``: the UTC start second, then six random hex digits."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
