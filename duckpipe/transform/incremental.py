"""Incremental models: the first build (or ``--full-refresh``) writes the whole table; later
builds compute only new rows (``is_incremental()`` is true) and add them by strategy:

- ``append``: insert the new rows;
- ``merge``: upsert on ``unique_key`` (the lake's MERGE when the sink has one);
- ``delete+insert``: delete the rows whose ``unique_key`` is among the new rows, insert them.

What is audited is the table as it will be after the commit (a DuckDB view over the
current table and the new rows), so checks see exactly what would be published.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ColumnTypeError, ConfigError, ModelError
from duckpipe.core.sql import quote
from duckpipe.sinks.base import MergeSpec
from duckpipe.transform.execution import ModelBuild
from duckpipe.transform.materialize import blocked, build_table, publish

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.runner import StepResult
    from duckpipe.sinks.base import CommitResult

NEW_PREFIX = "__duckpipe_new__"
_MAX_PREDICATE_KEYS = 1000
_PREDICATE_TYPES = ("int", "uint", "string", "large_string", "date32")


def build_incremental(build: ModelBuild) -> StepResult:
    from duckpipe.runner import StepResult

    if not build.compiled.incremental:
        return build_table(build)
    config = build.node.config
    engine = build.ctx.engine
    build.hooks("pre_hook")
    new_rows = build.arrow()
    if new_rows.num_rows == 0:  # nothing to publish: no commit, no new table version
        build.hooks("post_hook")
        return StepResult(rows=0, table=build.name, detail="no new rows")
    new_name = NEW_PREFIX + build.name
    engine.register(new_name, new_rows)
    try:
        keys = _checked_keys(build, new_rows)
        after = _after_sql(build.name, new_name, keys, config.strategy)
        build.ctx.engine.con.execute(
            f"create or replace temp view {quote(build.staged)} as {after}"
        )
        result = build.audit(build.staged)
        if not result.passed:
            return blocked(result)
        try:
            commit = _commit(build, new_rows, new_name, keys, after)
        except ColumnTypeError as exc:  # the sink's hint names its API, not the model's fix
            raise ColumnTypeError(
                exc.message,
                where=exc.where,
                hint=f"rebuild the table with `duckpipe run --full-refresh -s {build.name}`, "
                "or CAST the column in the model's SQL to the table's type",
            ) from None
    finally:
        engine.con.execute(f"drop view if exists {quote(build.staged)}")
        engine.unregister(new_name)
    publish(build)
    build.hooks("post_hook")
    return StepResult(
        rows=new_rows.num_rows,
        table=build.name,
        version=commit.version,
        detail=_detail(config.strategy, new_rows.num_rows, commit),
        checks=result.checks,
    )


def _checked_keys(build: ModelBuild, new_rows: pa.Table) -> list[str]:
    """The unique_key columns, which must exist and (for merge) be unique among the new rows."""
    config = build.node.config
    if config.strategy == "append":
        return []
    where = config.where.get("unique_key", build.node.path)
    for key in config.unique_key:
        if key not in new_rows.column_names:
            from duckpipe.core.errors import did_you_mean

            raise ConfigError(
                f"unique_key column '{key}' is not a column of model '{build.name}'",
                where=where,
                hint=did_you_mean(key, new_rows.column_names)
                or f"columns: {', '.join(new_rows.column_names)}",
            )
    if config.strategy == "merge":
        cols = ", ".join(quote(k) for k in config.unique_key)
        dupes = build.ctx.engine.con.execute(
            f"select {cols}, count(*) from {quote(NEW_PREFIX + build.name)} "
            f"group by all having count(*) > 1 limit 3"
        ).fetchall()
        if dupes:
            shown = "; ".join(
                ", ".join(map(repr, row[:-1])) + f" ({row[-1]} rows)" for row in dupes
            )
            raise ModelError(
                f"unique_key ({', '.join(config.unique_key)}) is not unique in the new rows "
                f"of '{build.name}': {shown}",
                where=where,
                hint="deduplicate in the model (e.g. qualify row_number() over (partition by "
                "the key order by updated_at desc) = 1) or use incremental_strategy='delete+insert'",
            )
    return list(config.unique_key)


def _after_sql(table: str, new_name: str, keys: list[str], strategy: str) -> str:
    """SQL for the table as it will be after adding ``new_name`` with ``strategy``."""
    if strategy == "append":
        kept = f"select * from {quote(table)}"
    else:
        match = " and ".join(f"s.{quote(k)} = t.{quote(k)}" for k in keys)
        kept = (
            f"select * from {quote(table)} as t "
            f"where not exists (select 1 from {quote(new_name)} as s where {match})"
        )
    return f"{kept} union all by name select * from {quote(new_name)}"


def _commit(
    build: ModelBuild, new_rows: pa.Table, new_name: str, keys: list[str], after: str
) -> CommitResult:
    lake, config = build.lake, build.node.config
    partition_by = config.partition_by or None
    if config.strategy == "append":
        return lake.write(build.name, new_rows, mode="append", partition_by=partition_by)
    if config.strategy == "merge" and lake.capabilities.supports_merge:
        return lake.write(
            build.name,
            new_rows,
            mode="merge",
            merge=MergeSpec(keys=keys),
            partition_by=partition_by,
        )
    if config.strategy == "delete+insert":
        predicate = _key_predicate(build, new_rows, new_name, keys)
        if predicate is not None:
            return lake.write(
                build.name,
                new_rows,
                mode="overwrite",
                predicate=predicate,
                partition_by=partition_by,
            )
    rewritten = build.ctx.engine.con.sql(after).to_arrow_table()
    return lake.write(build.name, rewritten, mode="overwrite", partition_by=partition_by)


def _key_predicate(
    build: ModelBuild, new_rows: pa.Table, new_name: str, keys: list[str]
) -> str | None:
    """``key IN (...)`` over the new rows' keys, or None when a full rewrite is simpler.

    Used only for a bounded number of non-null integer, string and date keys, which every
    sink's predicate language reads the same way.
    """
    for key in keys:
        if not str(new_rows.schema.field(key).type).startswith(_PREDICATE_TYPES):
            return None
    cols = ", ".join(quote(k) for k in keys)
    rows = build.ctx.engine.con.execute(
        f"select distinct {cols} from {quote(new_name)} limit {_MAX_PREDICATE_KEYS + 1}"
    ).fetchall()
    if len(rows) > _MAX_PREDICATE_KEYS or any(v is None for row in rows for v in row):
        return None
    if len(keys) == 1:
        return f"{quote(keys[0])} in ({', '.join(_literal(r[0]) for r in rows)})"
    terms = (
        "("
        + " and ".join(f"{quote(k)} = {_literal(v)}" for k, v in zip(keys, row, strict=True))
        + ")"
        for row in rows
    )
    return " or ".join(terms)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _detail(strategy: str, rows: int, commit: CommitResult) -> str:
    if strategy == "append":
        return f"{rows:,} new rows appended"
    parts = [f"{rows:,} new rows ({strategy}"]
    if commit.rows_updated or commit.rows_inserted:
        parts.append(f": {commit.rows_inserted:,} inserted, {commit.rows_updated:,} updated")
    if commit.rows_deleted:
        parts.append(f", {commit.rows_deleted:,} deleted")
    return "".join(parts) + ")"
