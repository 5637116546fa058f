"""Shared steps of the pattern tests: scaffold a template, run the CLI in process, read tables."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from duckpipe.cli import cli
from duckpipe.project import load_project
from duckpipe.query import open_query_engine
from duckpipe.sinks.base import Sink

CENT = Decimal("0.01")


def duckpipe(root: Path, *args: str, ok: bool = True) -> Result:
    """``duckpipe -p ROOT ARGS...`` in this process; by default it must succeed."""
    result = CliRunner().invoke(cli, ["-p", str(root), *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def init_project(tmp_path: Path, pattern: str, *args: str) -> Path:
    """``duckpipe init`` a pattern into a new folder under ``tmp_path``."""
    root = tmp_path / pattern
    result = CliRunner().invoke(cli, ["init", str(root), "--pattern", pattern, *args])
    assert result.exit_code == 0, result.output
    return root


def own_topic(root: Path, template_topic: str, template_group: str) -> str:
    """Give the project its own topic and consumer group, so tests sharing the broker do not
    meet (a stream's consumers are static group members: one group, one subscription)."""
    unique = uuid.uuid4().hex[:8]
    config = root / "duckpipe.yml"
    text = config.read_text()
    assert template_topic in text and f"group_id: {template_group}" in text
    text = text.replace(template_topic, f"{template_topic}-{unique}")
    config.write_text(text.replace(f"group_id: {template_group}", f"group_id: g-{unique}"))
    return f"{template_topic}-{unique}"


def produce(root: Path, bootstrap: str, topic: str, *files: str) -> None:
    """Send the events of ``files`` with the producer script the template ships."""
    subprocess.run(
        [sys.executable, "scripts/produce.py", *files, "--topic", topic, "--bootstrap", bootstrap],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=120,
    )


def query(root: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of ``sql`` over the project's lake tables and views."""
    engine = open_query_engine(load_project(root))
    try:
        return engine.arrow(sql).to_pylist()
    finally:
        engine.close()


def lake_of(root: Path) -> Sink:
    return load_project(root).open_lake()


def rows_of(lake: Sink, table: str, version: int | None = None) -> set[tuple[Any, ...]]:
    """A table's rows as a set of (column, value) tuples (order-free comparison)."""
    rows = lake.dataset(table, version=version).to_table().to_pylist()
    return {tuple(sorted(r.items())) for r in rows}


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def hourly_page_stats(events: Iterable[dict[str, Any]]) -> dict[tuple[str, datetime], tuple]:
    """(page, hour) -> (events, purchases, revenue), computed here from the raw events."""
    out: dict[tuple[str, datetime], tuple[int, int, Decimal]] = {}
    for e in events:
        moment = datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).astimezone(UTC)
        key = (e["page"], moment.replace(minute=0, second=0, microsecond=0))
        n, bought, revenue = out.get(key, (0, 0, Decimal("0.00")))
        out[key] = (n + 1, bought + (e["action"] == "purchase"), revenue + money(e["amount"]))
    return out


def page_stats_of(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, datetime], tuple]:
    """The same mapping from published window rows (checking each window is one hour)."""
    out = {}
    for r in rows:
        assert r["window_end"] - r["window_start"] == timedelta(hours=1)
        start = r["window_start"].astimezone(UTC)
        out[(r["page"], start)] = (r["events"], r["purchases"], money(r["revenue"]))
    return out
