"""Local run history under ``.duckpipe/history.jsonl``: a record of runs, never a source of truth."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StepRecord:
    """One executed step of a run."""

    kind: str
    name: str
    status: str  # ok | failed | skipped | blocked
    seconds: float = 0.0
    rows: int | None = None
    table: str | None = None
    version: int | None = None
    detail: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunRecord:
    """One ``duckpipe run`` (or ``check``/``stream``) as stored in the history."""

    run_id: str
    command: str
    started_at: str
    finished_at: str | None = None
    status: str = "running"
    steps: list[StepRecord] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)


class RunHistory:
    """Append-only JSON-lines file of runs."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "history.jsonl"

    def append(self, record: RunRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(record.to_json() + "\n")

    def runs(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored runs, newest first."""
        if not self.path.exists():
            return []
        lines = self.path.read_text().splitlines()
        runs = [json.loads(line) for line in reversed(lines) if line.strip()]
        return runs[:limit] if limit else runs
