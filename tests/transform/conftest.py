"""Small on-disk projects for the transform tests."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from duckpipe.project import Project, load_project

MakeProject = Callable[..., Project]


def write_project(root: Path, files: dict[str, str], *, config: str = "") -> Project:
    """Write ``files`` (path -> text, dedented) and a duckpipe.yml under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(config) if config else ""
    if "lake:" not in text:
        text = f"lake: memory://{uuid.uuid4().hex}\n" + text
    (root / "duckpipe.yml").write_text("name: t\n" + text)
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip("\n"))
    return load_project(root)


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """``make_project({"models/a.sql": "select 1 as x"}, config="...")`` -> a loaded Project."""
    counter = iter(range(1000))

    def make(files: dict[str, str], *, config: str = "") -> Project:
        return write_project(tmp_path / f"p{next(counter)}", files, config=config)

    return make
