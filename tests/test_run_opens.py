"""One run opens each source once, the lake once (per table format) and builds the graph once.

The counters wrap the real functions (``make_source`` via the source registry,
``open_sink``, ``build_graph``) and call through, so the runs below are ordinary runs.
"""

from __future__ import annotations

import textwrap
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner

import duckpipe.sinks
import duckpipe.transform.graph
from duckpipe.cli import cli
from duckpipe.config import SourceConfig
from duckpipe.plan import RunOptions
from duckpipe.project import Project, load_project
from duckpipe.runner import make_plan, open_sources, run_project
from duckpipe.sources import REGISTRY
from duckpipe.sources.memory import MemorySource

OPENED: Counter[str] = Counter()


class CountedMemorySource(MemorySource):
    """The in-memory source, counting how often each source is opened (made)."""

    def __init__(self, name: str, cfg: SourceConfig) -> None:
        OPENED[name] += 1
        super().__init__(name, cfg)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts of source opens by name, ``lake`` opens and ``graph`` builds."""
    OPENED.clear()
    monkeypatch.setitem(REGISTRY, "memory", f"{__name__}:CountedMemorySource")

    def spy(module: Any, name: str, label: str) -> None:
        real = getattr(module, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            OPENED[label] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)

    spy(duckpipe.sinks, "open_sink", "lake")
    spy(duckpipe.transform.graph, "build_graph", "graph")
    return OPENED


def _project(root: Path, *, models: dict[str, str], extra: str = "") -> Project:
    key = uuid.uuid4().hex
    for name in ("orders", "customers"):
        MemorySource.publish(
            f"memory://{key}/{name}",
            pa.table({"id": [1, 2, 3], "updated_at": [10, 20, 30]}),
        )
    root.mkdir(parents=True)
    (root / "duckpipe.yml").write_text(
        textwrap.dedent(f"""\
            name: opens
            lake: ./lake
            sources:
              orders: {{uri: "memory://{key}/orders", watermark_column: updated_at}}
              customers: {{uri: "memory://{key}/customers", watermark_column: updated_at}}
            """)
        + extra
    )
    for name, sql in models.items():
        (root / "models").mkdir(exist_ok=True)
        (root / "models" / f"{name}.sql").write_text(sql)
    return load_project(root)


MODELS = {
    "a": "-- materialized: table\nselect id from raw_orders",
    "b": "-- materialized: table\nselect id from {{ ref('a') }}",
    "c": "select id from {{ ref('b') }}",
    "d": "-- materialized: table\nselect count(*) as n from {{ ref('c') }}",
}


def test_a_run_opens_each_source_the_lake_and_the_graph_once(
    tmp_path: Path, counted: Counter[str]
) -> None:
    project = _project(tmp_path / "p", models=MODELS)
    report = run_project(project)
    assert report.ok, [(s.name, s.detail) for s in report.record.steps]
    assert report.step("orders").rows == 3
    assert counted == Counter(orders=1, customers=1, lake=1, graph=1)


def test_a_plan_and_its_run_share_the_opened_sources_and_lake(
    tmp_path: Path, counted: Counter[str]
) -> None:
    project = _project(tmp_path / "p", models=MODELS)
    lake, sources = project.open_lake(), open_sources(project)
    plan = make_plan(project, lake, RunOptions(), sources)
    report = run_project(project, plan=plan, lake=lake, sources=sources)
    assert report.ok
    assert counted == Counter(orders=1, customers=1, lake=1, graph=1)


def test_duckpipe_run_opens_each_source_and_the_lake_once(
    tmp_path: Path, counted: Counter[str]
) -> None:
    project = _project(tmp_path / "p", models=MODELS)
    result = CliRunner().invoke(cli, ["-p", str(project.root), "run"])
    assert result.exit_code == 0, result.output
    assert counted["orders"] == counted["customers"] == 1
    assert counted["lake"] == 1


def test_concurrent_models_build_the_graph_once(tmp_path: Path, counted: Counter[str]) -> None:
    project = _project(tmp_path / "p", models=MODELS, extra="models:\n  concurrency: 2\n")
    assert run_project(project).ok
    assert counted["graph"] == 1


def test_models_in_another_format_open_that_lake_once(
    tmp_path: Path, counted: Counter[str]
) -> None:
    header = "{{ config(materialized='table', format='iceberg') }}\n"
    models = {
        "a": header + "select id from raw_orders",
        "b": header + "select id from {{ ref('a') }}",
        "c": header + "select id from {{ ref('b') }}",
        "d": "-- materialized: table\nselect count(*) as n from {{ ref('c') }}",
    }
    project = _project(tmp_path / "p", models=models)
    report = run_project(project)
    assert report.ok, [(s.name, s.detail) for s in report.record.steps]
    assert counted["lake"] == 2  # the project's Delta lake and the Iceberg one, once each
