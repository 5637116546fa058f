"""Table upkeep after a run (``maintenance:`` in duckpipe.yml): compact, then vacuum.

    maintenance:
      tables: [silver_orders, gold_daily_revenue]  # default: every table the run wrote
      optimize: true                               # bin-pack small files
      target_file_size: 128MB
      vacuum: true                                 # expire old versions, delete unused files
      retention_hours: 168                         # never below the safe minimum

Each table's upkeep is one step of the run record (kind ``maintenance``). Versions
younger than ``retention_hours`` stay readable (time travel); the guard in
``duckpipe.sinks.maintenance`` refuses a shorter retention.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from duckpipe.core.errors import DuckpipeError
from duckpipe.core.history import StepRecord

if TYPE_CHECKING:
    from duckpipe.config import MaintenanceConfig
    from duckpipe.core.console import Console
    from duckpipe.sinks.base import Sink


def tables_to_maintain(config: MaintenanceConfig, steps: list[StepRecord]) -> list[str]:
    """The configured tables, or else every table a step of this run committed to.

    >>> from duckpipe.config import MaintenanceConfig
    >>> done = [StepRecord("model", "a", "ok", table="a", version=3),
    ...         StepRecord("model", "v", "ok"), StepRecord("model", "b", "blocked", table="b")]
    >>> tables_to_maintain(MaintenanceConfig(), done)
    ['a']
    """
    if config.tables:
        return list(dict.fromkeys(config.tables))
    written = [s.table for s in steps if s.status == "ok" and s.table and s.version is not None]
    return [t for t in dict.fromkeys(written) if not t.startswith("_")]


def maintain(
    lake: Sink, config: MaintenanceConfig, steps: list[StepRecord], console: Console
) -> list[StepRecord]:
    """Compact and vacuum the tables ``config`` names (or the run wrote); one record each."""
    records = []
    for table in tables_to_maintain(config, steps):
        label = f"maintain {table}"
        console.event("step_started", label=label, kind="maintenance", name=table)
        started = time.perf_counter()
        record = _maintain_table(lake, config, table)
        record.seconds = round(time.perf_counter() - started, 4)
        console.event(
            "step_finished",
            label=label,
            kind="maintenance",
            name=table,
            status=record.status,
            detail=record.detail,
            seconds=record.seconds,
            rows=None,
        )
        records.append(record)
    return records


def _maintain_table(lake: Sink, config: MaintenanceConfig, table: str) -> StepRecord:
    if not lake.exists(table):
        return StepRecord("maintenance", table, "skipped", detail="not in the lake yet")
    done: list[str] = []
    version = None
    try:
        if config.optimize and lake.capabilities.supports_compaction:
            compacted = lake.compact(table, target_size=config.target_file_size)
            version = compacted.version if compacted.files_added else None
            done.append(
                f"compacted {compacted.files_removed} files into {compacted.files_added}"
                if compacted.files_removed
                else "no small files to compact"
            )
        if config.vacuum and lake.capabilities.supports_vacuum:
            vacuumed = lake.vacuum(table, retention_hours=config.retention_hours)
            done.append(
                f"vacuumed {vacuumed.files_removed} files, expired {vacuumed.snapshots_expired} "
                f"versions older than {config.retention_hours:g} h"
            )
    except DuckpipeError as exc:
        return StepRecord("maintenance", table, "failed", table=table, detail=str(exc))
    return StepRecord(
        "maintenance", table, "ok", table=table, version=version, detail="; ".join(done)
    )
