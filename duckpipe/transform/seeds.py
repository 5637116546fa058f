"""Seeds: ``seeds/*.csv`` loaded as DuckDB tables, types inferred or set in duckpipe.yml.

seeds:
  country_codes:
    column_types: {code: varchar, population: bigint}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.core.errors import ConfigError, ModelError
from duckpipe.core.sql import quote
from duckpipe.transform.graph import STAGED_PREFIX

if TYPE_CHECKING:
    from duckpipe.engine import Engine
    from duckpipe.plan import SeedStep
    from duckpipe.project import Project
    from duckpipe.runner import RunContext, StepResult


def seed_select(project: Project, name: str) -> str:
    """The ``select * from read_csv(...)`` that reads seed ``name`` with its configured types."""
    path = (project.root / project.seeds[name]).as_posix().replace("'", "''")
    config = project.config.seeds.get(name)
    options = ["header = true", "auto_detect = true"]
    if config is not None:
        options[0] = f"header = {str(config.header).lower()}"
        if config.delimiter:
            options.append("delim = '" + config.delimiter.replace("'", "''") + "'")
        if config.column_types:
            types = ", ".join(
                f"'{col.replace(chr(39), chr(39) * 2)}': '{typ}'"
                for col, typ in config.column_types.items()
            )
            options.append(f"types = {{{types}}}")
    return f"select * from read_csv('{path}', {', '.join(options)})"


def create_seed(engine: Engine, project: Project, name: str, table: str) -> int:
    """Load seed ``name`` into DuckDB table ``table``; returns its row count."""
    import duckdb

    try:
        engine.con.execute(
            f"create or replace table {quote(table)} as {seed_select(project, name)}"
        )
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        if "types" in message.lower() or "column_types" in message.lower():
            raise ConfigError(
                message, where=f"duckpipe.yml seeds.{name}.column_types", hint="name CSV columns"
            ) from exc
        raise ModelError(f"cannot load seed: {message}", where=str(project.seeds[name])) from exc
    rows = engine.con.execute(f"select count(*) from {quote(table)}").fetchall()
    return int(rows[0][0])


def register_seed(engine: Engine, project: Project, name: str) -> None:
    """Make seed ``name`` queryable (a fresh process, or a selection that skipped it)."""
    create_seed(engine, project, name, name)


def load_seed(ctx: RunContext, step: SeedStep) -> StepResult:
    """Stage the seed, audit it, then publish it under its name."""
    from duckpipe.quality import audit
    from duckpipe.runner import StepResult

    staged = STAGED_PREFIX + step.name
    rows = create_seed(ctx.engine, ctx.project, step.name, staged)
    con = ctx.engine.con
    try:
        result = audit(ctx, dataset=step.name, staged_relation=staged)
        if not result.passed:
            return StepResult(status="blocked", detail=result.detail, checks=result.checks)
        con.execute(f"drop table if exists {quote(step.name)}")
        con.execute(f"alter table {quote(staged)} rename to {quote(step.name)}")
    finally:
        con.execute(f"drop table if exists {quote(staged)}")
    return StepResult(rows=rows, table=step.name, checks=result.checks)
