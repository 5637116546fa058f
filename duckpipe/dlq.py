"""Dead letter queues of a project (``duckpipe dlq list|show|replay``).

The rows a source's contract rejected wait in ``_dlq/<source>`` with their reason. These
use cases open the project's lake, read the queues, and replay one source's dead letters
through the same landing, gate and commit as ``duckpipe run``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from duckpipe.core.console import Console, NullConsole
from duckpipe.core.run_ids import new_run_id
from duckpipe.ingest.dlq import dlq_sources, read_dead_letters
from duckpipe.ingest.replay import ReplayResult, replay, source_config
from duckpipe.plan import RunOptions
from duckpipe.project import Project
from duckpipe.runner import RunContext

if TYPE_CHECKING:
    from datetime import datetime

    import pyarrow as pa


@dataclass(frozen=True)
class QueueSummary:
    """One source's dead letters: how many, the commonest reasons, the newest failure."""

    source: str
    rows: int
    top_reasons: list[tuple[str, int]]
    newest: datetime | None


def dead_letter_queues(project: Project) -> list[QueueSummary]:
    """Every source of ``project`` with dead letters, with its three commonest reasons."""
    lake = project.open_lake()
    queues = []
    for source in dlq_sources(lake):
        letters = read_dead_letters(lake, source)
        reasons = Counter(letters.column("reason").to_pylist()).most_common(3)
        newest = max(letters.column("failed_at").to_pylist(), default=None)
        queues.append(QueueSummary(source, letters.num_rows, reasons, newest))
    return queues


def dead_letters(project: Project, source: str) -> pa.Table:
    """The dead letters of ``source``; an unknown source is an error with a suggestion."""
    source_config(project, source)
    return read_dead_letters(project.open_lake(), source)


def replay_dead_letters(
    project: Project, source: str, *, console: Console | None = None
) -> ReplayResult:
    """Land the dead letters of ``source`` that its contract accepts now (after a fix)."""
    from duckpipe.engine import Engine

    source_config(project, source)
    lake = project.open_lake()
    engine = Engine()
    try:
        engine.attach_lake(lake)
        run = RunContext(
            project, engine, lake, new_run_id(), RunOptions(), console or NullConsole()
        )
        return replay(run, source)
    finally:
        engine.close()
