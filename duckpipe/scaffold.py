"""Create a project from a template under ``duckpipe/templates/<pattern>``."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from duckpipe.errors import ProjectError, did_you_mean


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
    source = resources.files("duckpipe") / "templates" / pattern
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
            ignore=shutil.ignore_patterns("__pycache__", "lake", ".duckpipe"),
        )
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
