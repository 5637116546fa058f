"""Progress while extracting, and the CLI's one-line errors for the dead letter commands."""

from __future__ import annotations

from contextlib import contextmanager

from click.testing import CliRunner

from duckpipe.cli import cli
from duckpipe.core.console import Console, Progress
from duckpipe.core.errors import ConfigError
from tests.ingest.helpers import run, write_project


class Recording(Console):
    def __init__(self) -> None:
        self.bars: dict[str, list[tuple[int, dict]]] = {}

    @contextmanager
    def progress(self, description, total=None):
        steps = self.bars.setdefault(description, [])

        class Handle(Progress):
            def advance(self, n=1, **fields):
                steps.append((n, fields))

        yield Handle()


def test_extraction_reports_rows_and_rate(tmp_path):
    (tmp_path / "big.csv").write_text("id\n" + "\n".join(str(i) for i in range(5000)) + "\n")
    project = write_project(tmp_path, {"big": {"uri": "big.csv", "options": {"block_size": 4096}}})
    console = Recording()
    assert run(project, console).ok
    steps = console.bars["extract big"]
    assert len(steps) > 1
    assert sum(n for n, _ in steps) == 5000
    assert all(fields["rate"].endswith(" rows/s") for _, fields in steps)


def test_unknown_source_in_dlq_commands_suggests_the_name(tmp_path):
    (tmp_path / "a.csv").write_text("id\n1\n")
    write_project(tmp_path, {"orders": {"uri": "a.csv"}})
    for command in ("show", "replay"):
        result = CliRunner().invoke(cli, ["--project", str(tmp_path), "dlq", command, "ordres"])
        assert isinstance(result.exception, ConfigError)
        assert "did you mean 'orders'" in str(result.exception)
