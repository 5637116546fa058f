"""``duckpipe init --pattern``: every pattern scaffolds a project that says what it needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from duckpipe.cli import cli
from duckpipe.core.errors import ProjectError
from duckpipe.project import load_project
from duckpipe.scaffold import PATTERNS, scaffold, templates

NEEDS_KAFKA = {"lambda", "kappa"}


def test_every_template_is_a_pattern_and_every_pattern_a_template() -> None:
    assert set(templates()) == set(PATTERNS) == {"etl", "elt", "lambda", "kappa", "lakehouse"}


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_init_scaffolds_a_project_and_names_the_service_it_needs(
    tmp_path: Path, pattern: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "p"), "--pattern", pattern])
    assert result.exit_code == 0, result.output
    project = load_project(tmp_path / "p")
    assert project.config.pattern == pattern
    assert project.models or pattern == "etl"
    assert "Choose" in (tmp_path / "p" / "README.md").read_text()
    assert PATTERNS[pattern].next_steps[0] in result.output
    if pattern in NEEDS_KAFKA:
        assert "needs a Kafka broker" in result.output
        assert "KAFKA_BOOTSTRAP" in result.output
        assert (tmp_path / "p" / "scripts" / "produce.py").is_file()
        kafka = [s for s in project.config.sources.values() if s.resolved_type() == "kafka"]
        assert kafka and kafka[0].uri == "kafka://localhost:9092"
    else:
        assert "needs" not in result.output
        assert all(s.resolved_type() == "files" for s in project.config.sources.values())


def test_the_bootstrap_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scaffold(tmp_path / "k", "kappa")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "broker.internal:19092")
    sources = load_project(tmp_path / "k").config.sources
    assert sources["clicks"].uri == "kafka://broker.internal:19092"


def test_format_switches_the_lake_format(tmp_path: Path) -> None:
    scaffold(tmp_path / "l", "lakehouse", table_format="iceberg")
    assert load_project(tmp_path / "l").config.format == "iceberg"


def test_an_unknown_pattern_gets_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as err:
        scaffold(tmp_path / "x", "lamda")
    assert "did you mean 'lambda'" in str(err.value)
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "y"), "--pattern", "kapa"])
    assert result.exit_code == 2
    assert not (tmp_path / "y").exists()
