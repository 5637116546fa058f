"""Materializations: view (stays in DuckDB), table (written to the lake), ephemeral (inlined).

Each one follows write-audit-publish: the result is staged under a DuckDB name, the
project's checks run on it (``duckpipe.quality.audit``), and only a passing result is
published. A blocked result leaves the previous view or table version untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.core.sql import quote
from duckpipe.transform.execution import ModelBuild

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.quality import AuditResult
    from duckpipe.runner import StepResult
    from duckpipe.transform.graph import ProjectGraph


def blocked(result: AuditResult) -> StepResult:
    from duckpipe.runner import StepResult

    return StepResult(status="blocked", detail=result.detail, checks=result.checks)


def build_view(build: ModelBuild) -> StepResult:
    """Stage the view, audit it, then swap it in under the model's name."""
    from duckpipe.runner import StepResult

    con = build.ctx.engine.con
    build.ctx.engine.unregister(build.name)
    build.hooks("pre_hook")
    build.execute(f"create or replace view {quote(build.staged)} as\n")
    try:
        result = build.audit(build.staged)
        if not result.passed:
            return blocked(result)
        con.execute(f"drop view if exists {quote(build.name)}")
        con.execute(f"alter view {quote(build.staged)} rename to {quote(build.name)}")
    finally:
        con.execute(f"drop view if exists {quote(build.staged)}")
    build.hooks("post_hook")
    return StepResult(table=build.name, checks=result.checks)


def build_table(build: ModelBuild) -> StepResult:
    """Compute the result as Arrow, audit it, overwrite the lake table with it."""
    from duckpipe.runner import StepResult

    engine = build.ctx.engine
    build.hooks("pre_hook")
    data = build.arrow()
    engine.register(build.staged, data)
    try:
        result = build.audit(build.staged)
        if not result.passed:
            return blocked(result)
        commit = build.lake.write(
            build.name,
            data,
            mode="overwrite",
            partition_by=build.node.config.partition_by or None,
            schema_mode="overwrite",
        )
    finally:
        engine.unregister(build.staged)
    publish(build, data)
    build.hooks("post_hook")
    return StepResult(
        rows=data.num_rows, table=build.name, version=commit.version, checks=result.checks
    )


def publish(build: ModelBuild, data: pa.Table | None = None) -> None:
    """Make the published table queryable by the model's name for the models downstream.

    When the whole table was just written from ``data``, downstream models read that
    Arrow table (with the types the lake stored) instead of scanning the files again.
    """
    import pyarrow as pa

    if data is not None:
        schema = build.lake.schema(build.name)
        try:
            data = data.select(schema.names).cast(schema)
        except (KeyError, ValueError, pa.ArrowException):
            data = None
    build.ctx.engine.register(build.name, build.lake.dataset(build.name) if data is None else data)


def build_ephemeral(graph: ProjectGraph, name: str) -> StepResult:
    """Nothing to build: the SQL is inlined as a CTE into each model that reads it."""
    from duckpipe.runner import StepResult
    from duckpipe.transform.compile import compile_model

    compile_model(graph, name)
    readers = sorted(graph.children().get(name, ()))
    detail = f"inlined into {', '.join(readers)}" if readers else "inlined (no model reads it)"
    return StepResult(detail=detail)
