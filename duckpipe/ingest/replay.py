"""Re-ingest dead letters after a fix (``duckpipe dlq replay SOURCE``).

The raw JSON of each dead letter is read back into the landed table's columns and
judged by the source's contract as it is configured *now*. Rows that pass land in the
source's table, in one commit that also records their dead letter ids (writer
``dlq:<source>``); rows that still fail stay in the queue with their new reason.
Replaying twice, or again after a crash between the two commits, lands nothing twice:
ids already recorded are skipped, and a source with a primary key is merged on it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ConfigError, did_you_mean
from duckpipe.ingest.contracts import COLUMN, REASON, Contract
from duckpipe.ingest.dlq import dlq_table, read_dead_letters
from duckpipe.ingest.land import audit_staged, commit_rows, unique_on_key
from duckpipe.ingest.metadata import MetadataColumns, without_metadata
from duckpipe.project import landed_table
from duckpipe.sinks.base import Position
from duckpipe.sinks.lake_types import LakeTypes

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import SourceConfig
    from duckpipe.project import Project
    from duckpipe.runner import RunContext

# Types a column that only exists in the dead letters may take (else it stays text).
_INFERRED = {"BIGINT", "UBIGINT", "DOUBLE", "BOOLEAN", "VARCHAR"}


@dataclass
class ReplayResult:
    """What a replay did."""

    source: str
    table: str
    landed: int = 0
    still_failing: int = 0
    skipped: int = 0
    version: int | None = None
    blocked: Any = None
    reasons: dict[str, int] | None = None


def source_config(project: Project, source: str) -> SourceConfig:
    """The configuration of ``source``; an unknown name is an error with a suggestion."""
    sources = project.config.sources
    if source not in sources:
        raise ConfigError(
            f"unknown source '{source}'",
            where="sources",
            hint=did_you_mean(source, sources) or f"sources: {', '.join(sources) or 'none'}",
        )
    return sources[source]


def replay_writer(source: str) -> str:
    return f"dlq:{source}"


def replay(ctx: RunContext, source: str) -> ReplayResult:
    """Land the dead letters of ``source`` that its contract accepts now."""
    import pyarrow.compute as pc

    cfg = source_config(ctx.project, source)
    table = landed_table(source, cfg)
    result = ReplayResult(source, table)
    letters = read_dead_letters(ctx.lake, source)
    stored = ctx.lake.read_position(table, replay_writer(source))
    done = (stored.value.get("ids") or []) if stored else []
    if done:
        already = pc.is_in(letters.column("dlq_id"), _strings(done))
        result.skipped = int(pc.sum(already.cast("int64")).as_py() or 0)
        letters = letters.filter(pc.invert(already))
    if letters.num_rows == 0:
        _rewrite_queue(ctx, source, letters)
        return result
    known = without_metadata(ctx.lake.schema(table)) if ctx.lake.exists(table) else None
    rows = parse_raw(letters.column("raw"), known)
    contract = Contract(cfg.contract, source=source, known=known)
    verdict = contract.check(rows.combine_chunks().to_batches()[0])
    failed = verdict.failed if verdict.failed is not None else pc.is_null(letters.column("raw"))
    good = LakeTypes(verdict.good.schema)(verdict.good)
    good = MetadataColumns(source, ctx.run_id, datetime.now(UTC))(good)
    good_ids = letters.column("dlq_id").filter(pc.invert(failed)).to_pylist()
    landed = unique_on_key(ctx, source, pa_table(good), cfg)
    if landed.num_rows:
        verdict_audit = audit_staged(ctx, table, landed)
        if not verdict_audit.passed:
            result.blocked = verdict_audit
            return result
        commit = commit_rows(
            ctx.lake,
            table,
            landed,
            cfg,
            incremental=ctx.lake.exists(table),
            position=Position(replay_writer(source), {"ids": good_ids}),
        )
        result.version = commit.version if commit else None
    result.landed = landed.num_rows
    remaining = letters.filter(failed)
    if verdict.bad is not None:
        remaining = _with_new_reasons(remaining, verdict.bad)
    result.still_failing = remaining.num_rows
    result.reasons = dict(Counter(remaining.column("reason").to_pylist()))
    _rewrite_queue(ctx, source, remaining)
    return result


def _strings(values: list[str]) -> pa.Array:
    import pyarrow as pa

    return pa.array(values, pa.string())


def pa_table(batch: pa.RecordBatch) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_batches([batch], schema=batch.schema)


def _with_new_reasons(remaining: pa.Table, bad: pa.Table) -> pa.Table:
    """The dead letters still failing, with the reason and column of their latest failure."""
    reason = bad.column(REASON).combine_chunks()
    column = bad.column(COLUMN).combine_chunks()
    remaining = remaining.set_column(remaining.schema.get_field_index("reason"), "reason", reason)
    return remaining.set_column(
        remaining.schema.get_field_index("column_name"), "column_name", column
    )


def _rewrite_queue(ctx: RunContext, source: str, remaining: pa.Table) -> None:
    """Replace the dead letter table with the letters that were not landed."""
    table = dlq_table(source)
    if ctx.lake.exists(table):
        ctx.lake.write(table, remaining, mode="overwrite")


def parse_raw(raw: pa.ChunkedArray | pa.Array, known: pa.Schema | None) -> pa.Table:
    """Raw JSON objects -> a table: known columns as text (the contract casts them back to the
    table's types, row by row); columns only the JSON has, with a type DuckDB infers."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect(config={"threads": 1})
    try:
        con.register("_raw", pa.table({"raw": raw}))
        found = con.sql("SELECT json_group_structure(raw::JSON) FROM _raw").fetchall()
        inferred: dict[str, Any] = json.loads(found[0][0]) if found and found[0][0] else {}
        names = list(known.names) if known is not None else []
        names += [n for n in inferred if n not in names]
        columns = []
        for name in names:
            path = "$." + json.dumps(name)
            text = f"json_extract_string(raw, '{_sql_text(path)}')"
            kind = inferred.get(name)
            in_table = known is not None and name in known.names
            if not in_table and isinstance(kind, str) and kind in _INFERRED:
                text = f"TRY_CAST({text} AS {'BIGINT' if kind == 'UBIGINT' else kind})"
            columns.append(f'{text} AS "{name}"')
        if not columns:
            return pa.table({})
        return con.sql(f"SELECT {', '.join(columns)} FROM _raw").to_arrow_table()
    finally:
        con.close()


def _sql_text(text: str) -> str:
    return text.replace("'", "''")
