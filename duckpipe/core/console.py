"""The one place duckpipe talks to people and machines.

The engine never prints: it reports events to a ``Console``. ``RichConsole``
renders them for a terminal; ``JsonConsole`` writes one JSON object per line;
``NullConsole`` keeps the library API silent.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO


class Console:
    """Base console: silent. Subclasses decide how events look."""

    def event(self, kind: str, /, **fields: Any) -> None:
        """A structured event (``step_started``, ``step_finished``, ``check`` ...)."""

    def info(self, message: str) -> None:
        """A line of progress for people."""

    def warn(self, message: str) -> None:
        """Something the user should look at; the run goes on."""

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A small result table."""

    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[Progress]:
        """A progress display; ``advance(n)`` as work is done."""
        yield Progress()


class Progress:
    """Handle given out by ``Console.progress``."""

    def advance(self, n: int = 1, **fields: Any) -> None:
        """Record ``n`` more units done."""


class NullConsole(Console):
    """Says nothing: the default for the Python API."""


class JsonConsole(Console):
    """One JSON object per line on ``stream``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def _emit(self, obj: dict[str, Any]) -> None:
        self.stream.write(json.dumps(obj, default=str) + "\n")
        self.stream.flush()

    def event(self, kind: str, /, **fields: Any) -> None:
        self._emit({"event": kind, **fields})

    def info(self, message: str) -> None:
        self._emit({"event": "info", "message": message})

    def warn(self, message: str) -> None:
        self._emit({"event": "warning", "message": message})

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._emit(
            {
                "event": "table",
                "title": title,
                "rows": [dict(zip(columns, r, strict=False)) for r in rows],
            }
        )


class RichConsole(Console):
    """Terminal output through rich (imported lazily)."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        from rich.console import Console as _Rich

        # piped output has no terminal width to follow; tables take the width they need
        self.rich = _Rich(file=stream or sys.stderr, highlight=False)
        if not self.rich.is_terminal:
            self.rich.width = 240
        self.out = self.rich
        if stream is None:
            self.out = _Rich(file=sys.stdout, highlight=False)
            if not self.out.is_terminal:
                self.out.width = 240
        self.quiet = quiet

    def event(self, kind: str, /, **fields: Any) -> None:
        if self.quiet or kind not in ("step_started", "step_finished"):
            return
        name = f"{fields.get('kind', '')} {fields.get('name', '')}".strip() or fields.get(
            "label", ""
        )
        if kind == "step_started":
            if self.rich.is_terminal:
                self.rich.print(f"[dim]  start {name}[/dim]")
            return
        status = fields.get("status", "ok")
        colour = {"ok": "green", "failed": "red", "skipped": "yellow", "blocked": "red"}.get(
            status, "white"
        )
        detail = fields.get("detail") or ""
        secs = fields.get("seconds")
        timing = f" [dim]{secs:.2f}s[/dim]" if isinstance(secs, int | float) else ""
        self.rich.print(f"[{colour}]{status:>7}[/{colour}] {name} [dim]{detail}[/dim]{timing}")

    def info(self, message: str) -> None:
        if not self.quiet:
            self.rich.print(message)

    def warn(self, message: str) -> None:
        self.rich.print(f"[yellow]warning:[/yellow] {message}")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        from rich.table import Table

        table = Table(title=title or None, title_justify="left")
        for col in columns:
            table.add_column(str(col))
        for row in rows:
            table.add_row(*["" if v is None else str(v) for v in row])
        self.out.print(table)

    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[Progress]:
        if self.quiet or not self.rich.is_terminal:
            yield Progress()
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as _RichProgress

        with _RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=self.rich,
            transient=True,
        ) as bar:
            task = bar.add_task(description, total=total, rate="")

            class _Handle(Progress):
                def advance(self, n: int = 1, **fields: Any) -> None:
                    bar.update(task, advance=n, rate=fields.get("rate", ""))

            yield _Handle()
