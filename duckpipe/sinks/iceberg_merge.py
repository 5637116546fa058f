"""MERGE into an Iceberg table, inside the caller's transaction.

``rewrite`` (the default; pyiceberg has no MERGE with predicates or deletes): plan the
data files that may hold a key, read their key columns, keep the files with a real
match, compute their new rows in DuckDB, and commit one OVERWRITE snapshot that
removes those files and adds the rewritten rows plus the inserts.
``library``: pyiceberg's ``upsert`` (keys, update-all and insert only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.core.errors import SinkError
from duckpipe.sinks.base import CommitResult

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import Table, Transaction

    from duckpipe.sinks.base import MergeSpec
    from duckpipe.sinks.prepare import Prepared

IN_LIST_LIMIT = 200


def merge_into(
    tbl: Table,
    txn: Transaction,
    table: str,
    prepared: Prepared,
    spec: MergeSpec,
    summary: dict[str, str],
    *,
    strategy: str,
) -> CommitResult:
    from duckpipe.sinks.iceberg_scan import arrow_schema
    from duckpipe.sinks.merge import check_keys

    target_columns = arrow_schema(txn.table_metadata.schema()).names
    check_keys(spec, table, target_columns, prepared.data.column_names)
    if strategy == "library":
        return _upsert(txn, table, prepared, spec, summary)
    return _rewrite(tbl, txn, table, prepared, spec, summary)


def _upsert(
    txn: Transaction, table: str, prepared: Prepared, spec: MergeSpec, summary: dict[str, str]
) -> CommitResult:
    if spec.predicate or spec.delete_when or isinstance(spec.update, dict):
        raise SinkError(
            "pyiceberg's upsert cannot apply a match predicate, delete-when or update-set",
            where=table,
            hint="use MergeSpec(strategy='rewrite') (the default) for these clauses",
        )
    from duckpipe.sinks.iceberg_scan import arrow_schema
    from duckpipe.sinks.schema import conform

    rows, _ = conform(
        prepared.data, arrow_schema(txn.table_metadata.schema()), table=table, evolution="strict"
    )
    result = txn.upsert(
        rows,
        join_cols=spec.keys,
        when_matched_update_all=spec.update == "all",
        when_not_matched_insert_all=spec.insert,
        snapshot_properties=summary,
    )
    return CommitResult(
        table,
        None,
        rows_written=result.rows_inserted + result.rows_updated,
        rows_inserted=result.rows_inserted,
        rows_updated=result.rows_updated,
        metrics={"strategy": "library"},
    )


def _rewrite(
    tbl: Table,
    txn: Transaction,
    table: str,
    prepared: Prepared,
    spec: MergeSpec,
    summary: dict[str, str],
) -> CommitResult:
    import pyarrow as pa
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    from duckpipe.sinks.iceberg_catalog import sorted_rows
    from duckpipe.sinks.iceberg_scan import arrow_schema, read_files
    from duckpipe.sinks.merge import merge_rows, units_with_matches
    from duckpipe.sinks.prepare import with_new_columns
    from duckpipe.sinks.schema import conform

    source = prepared.data
    schema = arrow_schema(txn.table_metadata.schema())
    tasks = (
        list(tbl.scan(row_filter=_prefilter(tbl, source, spec)).plan_files())
        if tbl.current_snapshot()
        else []
    )
    matched_files: list[int] = []
    if tasks:
        keyed = [
            keys.append_column("__file", pa.array([i] * keys.num_rows, pa.int32()))
            for i, keys in enumerate(read_files(tbl, tasks, spec.keys))
        ]
        found = units_with_matches(pa.concat_tables(keyed), source, spec, ["__file"])
        matched_files = sorted(found.column("__file").to_pylist())
    touched = [tasks[i] for i in matched_files]
    target = (
        pa.concat_tables(read_files(tbl, touched))
        if touched
        else arrow_schema(tbl.schema()).empty_table()
    )
    target = with_new_columns(target, prepared.new_fields)
    outcome = merge_rows(target, source, spec, table=table)
    rows, _ = conform(outcome.rows, schema, table=table, evolution="strict")
    rows = sorted_rows(tbl, rows)
    result = CommitResult(
        table,
        None,
        rows_written=outcome.inserted + outcome.updated,
        rows_inserted=outcome.inserted,
        rows_updated=outcome.updated,
        rows_deleted=outcome.deleted,
        metrics={
            "strategy": "rewrite",
            "files_rewritten": len(touched),
            "rows_copied": outcome.copied,
        },
    )
    if not touched and rows.num_rows == 0:
        return result
    if not touched:
        txn.append(rows, snapshot_properties=summary)
        return result
    with txn.update_snapshot(snapshot_properties=summary).overwrite() as overwrite:
        for task in touched:
            overwrite.delete_data_file(task.file)
        if rows.num_rows:
            for data_file in _dataframe_to_data_files(
                txn.table_metadata, rows, tbl.io, write_uuid=overwrite.commit_uuid
            ):
                overwrite.append_data_file(data_file)
    return result


def _prefilter(tbl: Table, source: pa.Table, spec: MergeSpec) -> BooleanExpression:
    """A scan filter no matching file can fail: identity-partition keys by value, the first key by range."""
    import pyarrow.compute as pc
    from pyiceberg.expressions import AlwaysTrue, And, GreaterThanOrEqual, In, LessThanOrEqual

    expr: BooleanExpression = AlwaysTrue()
    schema = tbl.schema()
    identity = {
        schema.find_column_name(f.source_id)
        for f in tbl.spec().fields
        if str(f.transform) == "identity"
    }
    for key in spec.keys:
        column = source.column(key).drop_null()
        if len(column) == 0:
            continue
        unique = pc.unique(column)
        if key in identity and len(unique) <= IN_LIST_LIMIT:
            expr = And(expr, In(key, set(unique.to_pylist())))  # type: ignore[call-arg, misc]
        elif key == spec.keys[0]:
            bounds = pc.min_max(column)
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            if isinstance(low, int | str):
                expr = And(expr, And(GreaterThanOrEqual(key, low), LessThanOrEqual(key, high)))  # type: ignore[call-arg, misc]
    return expr
