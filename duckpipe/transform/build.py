"""Materialize models: views stay in DuckDB; tables are written to the lake."""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.transform.graph import render

if TYPE_CHECKING:
    from duckpipe.engine import Engine
    from duckpipe.plan import ModelStep, SeedStep
    from duckpipe.project import Project
    from duckpipe.runner import RunContext, StepResult


def load_seed(ctx: RunContext, step: SeedStep) -> StepResult:
    import pyarrow.csv as pcsv

    from duckpipe.runner import StepResult

    table = pcsv.read_csv(ctx.project.root / step.path)
    ctx.engine.register(step.name, table)
    return StepResult(rows=table.num_rows)


def build_model(ctx: RunContext, step: ModelStep) -> StepResult:
    from duckpipe.runner import StepResult

    sql = render(ctx.project.models[step.name].sql).strip().rstrip(";")
    if step.materialized == "view":
        ctx.engine.execute(f'create or replace view "{step.name}" as {sql}', where=step.path)
        return StepResult()
    data = ctx.engine.arrow(sql, where=step.path)
    result = ctx.lake.write(step.name, data, mode="overwrite")
    ctx.engine.register(step.name, ctx.lake.dataset(step.name))
    return StepResult(rows=data.num_rows, table=step.name, version=result.version)


def attach_project(engine: Engine, project: Project) -> None:
    """Make seeds and view models queryable in ``engine`` (lake tables are attached already)."""
    import pyarrow.csv as pcsv

    from duckpipe.plan import ModelStep, RunOptions, SeedStep
    from duckpipe.transform.graph import plan_models

    for step in plan_models(project, RunOptions()):
        if isinstance(step, SeedStep):
            engine.register(step.name, pcsv.read_csv(project.root / step.path))
        elif isinstance(step, ModelStep) and step.materialized == "view":
            sql = render(project.models[step.name].sql).strip().rstrip(";")
            engine.execute(f'create or replace view "{step.name}" as {sql}', where=step.path)
