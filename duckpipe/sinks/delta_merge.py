"""Two ways to MERGE into a Delta table; ``benchmarks/merge`` measures both.

``library_merge`` is delta-rs ``MERGE``. ``rewrite_merge`` (partitioned tables) finds
the partitions that hold a match or receive a row, computes their new contents in
DuckDB and replaces exactly those partitions in one commit (``replaceWhere``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import SinkError
from duckpipe.sinks.base import CommitResult

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import CommitProperties, DeltaTable

    from duckpipe.sinks.base import MergeSpec
    from duckpipe.sinks.prepare import Prepared


def library_merge(
    dt: DeltaTable, table: str, prepared: Prepared, spec: MergeSpec, props: CommitProperties
) -> CommitResult:
    from duckpipe.sinks.merge import join_condition

    if spec.update == "none" and not spec.insert and not spec.delete_when:
        raise SinkError("a merge with no update, insert or delete does nothing", where=table)
    merger = dt.merge(
        prepared.data,
        predicate=join_condition(spec),
        source_alias="s",
        target_alias="t",
        merge_schema=bool(prepared.new_fields),
        commit_properties=props,
    )
    if spec.delete_when:
        merger = merger.when_matched_delete(predicate=spec.delete_when)
    if spec.update == "all":
        merger = merger.when_matched_update_all()
    elif isinstance(spec.update, dict):
        merger = merger.when_matched_update(updates=spec.update)
    if spec.insert:
        merger = merger.when_not_matched_insert_all()
    metrics = merger.execute()
    dt.update_incremental()
    inserted = int(metrics.get("num_target_rows_inserted", 0))
    updated = int(metrics.get("num_target_rows_updated", 0))
    return CommitResult(
        table,
        dt.version(),
        rows_written=inserted + updated,
        rows_inserted=inserted,
        rows_updated=updated,
        rows_deleted=int(metrics.get("num_target_rows_deleted", 0)),
        metrics={"strategy": "library", **metrics},
    )


def rewrite_merge(
    dt: DeltaTable,
    table: str,
    prepared: Prepared,
    spec: MergeSpec,
    props: CommitProperties,
    storage_options: dict[str, str],
) -> CommitResult:
    import pyarrow as pa
    from deltalake import write_deltalake

    from duckpipe.sinks.delta_table import arrow_schema, readable_dataset
    from duckpipe.sinks.merge import merge_rows, units_with_matches
    from duckpipe.sinks.prepare import with_new_columns
    from duckpipe.sinks.schema import conform

    parts = list(dt.metadata().partition_columns)
    source = prepared.data
    if not parts or not set(parts) <= set(source.column_names):
        return library_merge(dt, table, prepared, spec, props)
    dataset = readable_dataset(dt)
    scope = _distinct(source.select(parts))
    if not set(parts) <= set(spec.keys):
        candidates = dataset.to_table(
            columns=[*spec.keys, *parts], filter=key_prefilter(source, spec.keys)
        )
        matched = units_with_matches(candidates, source, spec, parts)
        scope = _distinct(pa.concat_tables([scope, matched.cast(scope.schema)]))
    if scope.num_rows == 0:
        return CommitResult(table, dt.version(), metrics={"strategy": "rewrite"})
    schema = pa.schema([*arrow_schema(dt), *prepared.new_fields])
    target = with_new_columns(dataset.to_table(filter=partition_filter(scope)), prepared.new_fields)
    outcome = merge_rows(target, source, spec, table=table)
    rows, _ = conform(outcome.rows, schema, table=table, evolution="strict")
    write_deltalake(  # type: ignore[call-overload, misc]
        dt,
        rows,
        mode="overwrite",
        predicate=partition_sql(scope),
        schema_mode="merge" if prepared.new_fields else None,
        partition_by=parts,
        storage_options=storage_options,
        commit_properties=props,
    )
    dt.update_incremental()
    return CommitResult(
        table,
        dt.version(),
        rows_written=outcome.inserted + outcome.updated,
        rows_inserted=outcome.inserted,
        rows_updated=outcome.updated,
        rows_deleted=outcome.deleted,
        metrics={
            "strategy": "rewrite",
            "partitions_rewritten": scope.num_rows,
            "rows_copied": outcome.copied,
        },
    )


def _distinct(rows: pa.Table) -> pa.Table:
    return rows.group_by(rows.column_names).aggregate([])


def key_prefilter(source: pa.Table, keys: list[str]) -> pc.Expression:
    """A pushdown filter on the first key: its min..max range, and the values when few."""
    import pyarrow.compute as pc

    column = source.column(keys[0])
    bounds = pc.min_max(column)
    low, high = bounds["min"], bounds["max"]
    if not low.is_valid:
        return pc.scalar(True)
    field = pc.field(keys[0])
    expr = (field >= low) & (field <= high)
    unique = pc.unique(column.drop_null())
    if len(unique) <= 10_000:
        expr = expr & field.isin(unique)
    return expr


def partition_filter(scope: pa.Table) -> pc.Expression:
    """A pyarrow filter selecting exactly the partitions in ``scope`` (one row per partition)."""
    import pyarrow.compute as pc

    expr: pc.Expression | None = None
    for row in scope.to_pylist():
        term: pc.Expression | None = None
        for name, value in row.items():
            cond = pc.field(name).is_null() if value is None else pc.field(name) == value
            term = cond if term is None else term & cond
        assert term is not None
        expr = term if expr is None else expr | term
    return expr if expr is not None else pc.scalar(False)


def partition_sql(scope: pa.Table) -> str:
    """The same selection as ``partition_filter``, as a SQL predicate for delta-rs."""
    terms = []
    for row in scope.to_pylist():
        conds = [
            f'"{name}" IS NULL' if value is None else f'"{name}" = {sql_literal(value)}'
            for name, value in row.items()
        ]
        terms.append("(" + " AND ".join(conds) + ")")
    return " OR ".join(terms)


def sql_literal(value: Any) -> str:
    """A SQL literal for a partition value (strings quoted, dates and times as ISO text)."""
    import datetime as dt

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"
