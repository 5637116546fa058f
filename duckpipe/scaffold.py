"""Create a project from a template under ``duckpipe/templates/<pattern>``.

Each architecture pattern is a small runnable project. ``PATTERNS`` says what each is
best for, the one service it needs beyond files and the local lake (if any), and the
commands that run it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from duckpipe.core.errors import ProjectError, did_you_mean

KAFKA = (
    "a Kafka broker: export KAFKA_BOOTSTRAP=host:port "
    "(duckpipe.yml reads kafka://${KAFKA_BOOTSTRAP:-localhost:9092})"
)

PRODUCER = (("produce.py", "scripts/produce.py"),)


@dataclass(frozen=True)
class Pattern:
    """What ``duckpipe init --pattern NAME`` tells the user about the project it made."""

    name: str
    best_for: str
    next_steps: tuple[str, ...]
    needs: str | None = None
    shared: tuple[tuple[str, str], ...] = ()
    """Files from ``templates/_shared`` the project gets: (shared name, path in the project)."""


PATTERNS: dict[str, Pattern] = {
    p.name: p
    for p in (
        Pattern(
            "elt",
            "data lakes, schema-on-read: land raw, model afterwards",
            ("duckpipe run", "duckpipe query 'select * from daily_revenue'"),
        ),
        Pattern(
            "etl",
            "structured data with known schemas: clean in flight, publish only clean rows",
            ("duckpipe run", "duckpipe dlq list", "duckpipe query 'select * from orders'"),
        ),
        Pattern(
            "lambda",
            "mixed latency: a batch layer, a speed layer and a serving view over both",
            (
                "python scripts/produce.py data/events/*.ndjson data/incoming/*.ndjson "
                "--topic lambda.clicks",
                "duckpipe stream speed --once",
                "duckpipe run",
                "duckpipe query 'select * from page_stats order by window_start, page'",
            ),
            KAFKA,
            PRODUCER,
        ),
        Pattern(
            "kappa",
            "real-time processing: every table is a replayable stream",
            (
                "python scripts/produce.py data/clicks.ndjson --topic kappa.clicks",
                "duckpipe stream events --once && duckpipe stream page_stats --once "
                "&& duckpipe stream purchases --once",
                "duckpipe run",
                "duckpipe stream page_stats --once --from-offset 0:0 --from-offset 1:0",
            ),
            KAFKA,
            PRODUCER,
        ),
        Pattern(
            "lakehouse",
            "modern unified platforms: bronze/silver/gold tables with gates between layers",
            (
                "duckpipe run",
                "cp data/arriving/*.csv data/orders/ && duckpipe run",
                "duckpipe table history gold_daily_revenue",
                "duckpipe query --as-of 0 'select * from gold_daily_revenue'",
            ),
        ),
    )
}


def templates() -> list[str]:
    root = resources.files("duckpipe") / "templates"
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))


def scaffold(
    directory: str | Path, pattern: str = "elt", *, table_format: str | None = None
) -> Path:
    """Copy the ``pattern`` template into ``directory`` (which must be new or empty)."""
    target = Path(directory)
    if target.exists() and any(target.iterdir()):
        raise ProjectError(
            f"{target} exists and is not empty",
            hint="choose a new directory name",
        )
    templates_root = resources.files("duckpipe") / "templates"
    source = templates_root / pattern
    if not source.is_dir():
        raise ProjectError(
            f"unknown pattern '{pattern}'",
            hint=did_you_mean(pattern, templates()) or f"choose one of {', '.join(templates())}",
        )
    with resources.as_file(source) as src:
        shutil.copytree(
            src,
            target,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "lake", ".duckpipe", "target"),
        )
    known = PATTERNS.get(pattern)
    for name, path in known.shared if known else ():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_bytes((templates_root / "_shared" / name).read_bytes())
    if table_format:
        config = target / "duckpipe.yml"
        text = config.read_text()
        lines = [
            f"format: {table_format}" if ln.startswith("format:") else ln
            for ln in text.splitlines()
        ]
        if not any(ln.startswith("format:") for ln in lines):
            lines.insert(1, f"format: {table_format}")
        config.write_text("\n".join(lines) + "\n")
    return target.resolve()
