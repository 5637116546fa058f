"""A project's checks and the datasets they may name."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from duckpipe.core.errors import SinkError
from duckpipe.quality.sodacl import ChecksSuite, load_checks

if TYPE_CHECKING:
    from duckpipe.project import Project
    from duckpipe.sinks.base import Sink

UNKNOWN_DATASET_HINT = (
    "a source lands as raw_<name> (or its land_as); "
    "models, seeds and stream tables keep their names"
)


def project_suite(project: Project) -> ChecksSuite:
    """Every ``checks/*.yml`` of ``project``, parsed."""
    return load_checks(project.root, list(project.checks))


def known_datasets(project: Project, lake: Sink | None = None) -> set[str]:
    """Names checks may be written for: landed sources, models, seeds, stream tables, ``lake``'s tables."""
    from duckpipe.project import landed_table

    names = {landed_table(name, cfg) for name, cfg in project.config.sources.items()}
    names |= set(project.models) | set(project.seeds)
    names |= {stream.table for stream in project.config.streams.values()}
    if lake is not None:
        # object stores cannot always list tables; the project's names remain
        with suppress(SinkError):
            names |= {t for t in lake.tables() if not t.startswith("_")}
    return names


def validate_suite(project: Project, lake: Sink | None = None) -> ChecksSuite:
    """The project's checks, after checking that every section names a known dataset."""
    suite = project_suite(project)
    known = known_datasets(project)
    if lake is not None and not {b.dataset for b in suite.blocks} <= known:
        known = known_datasets(project, lake)  # lists the lake only when it can matter
    suite.check_validity(known, hint=UNKNOWN_DATASET_HINT)
    return suite
