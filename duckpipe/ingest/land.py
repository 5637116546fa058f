"""Land a source into the lake: extract -> validate -> stage -> audit -> commit with position.

One attempt extracts the planned range, runs every batch through the contract (rejected
rows to the dead letter queue), stages the result and adds the metadata columns. The
dead letters are stored first; then the quality gate audits the staged rows, and only
if it passes are they committed together with the source's new position (one lake
commit). A crash anywhere before that commit leaves the old position, so the next run
reads the same range again: no gap, and no duplicate.

A transient failure (the database restarted, a connection dropped) retries the whole
attempt with backoff; anything else fails the step at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from duckpipe.core.errors import ConfigError, ContractError
from duckpipe.core.retry import call_with_retry
from duckpipe.ingest.contracts import Contract
from duckpipe.ingest.dedupe import duplicate_keys, latest_per_key
from duckpipe.ingest.dlq import DeadLetters, dlq_table, write_dead_letters
from duckpipe.ingest.inflight import transformed
from duckpipe.ingest.metadata import MetadataColumns, without_metadata
from duckpipe.ingest.stream import Spool, Transform
from duckpipe.project import landed_table
from duckpipe.sinks.base import MergeSpec, Position
from duckpipe.sources import make_source

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import SourceConfig
    from duckpipe.plan import SourceStep
    from duckpipe.project import Project
    from duckpipe.quality import AuditResult
    from duckpipe.runner import RunContext, StepResult
    from duckpipe.sinks.base import CommitResult, SchemaMode, Sink, WriteMode
    from duckpipe.sources.base import ExtractRange, Source


def writer_id(source: str) -> str:
    """The writer id a source's position is stored under in its landed table."""
    return f"source:{source}"


def plan_source(
    project: Project,
    lake: Sink,
    name: str,
    cfg: SourceConfig,
    *,
    full_refresh: bool = False,
    source: Source | None = None,
) -> ExtractRange:
    """The range ``name`` would read now, from the position stored in its landed table.

    ``source``: the run's opened source (the landing extracts from the same one).
    """
    if cfg.lookback and not cfg.primary_key:
        raise ConfigError(
            "lookback re-reads rows that were already landed, so it needs a primary_key "
            "to deduplicate them",
            where=f"sources.{name}.lookback",
            hint="add primary_key: <column(s)>, or remove lookback",
        )
    table = landed_table(name, cfg)
    stored = None if full_refresh else lake.read_position(table, writer_id(name))
    if source is None:
        source = make_source(
            name, cfg, project.root, storage_options=project.config.storage_options
        )
    return source.plan(stored.value if stored else None, full_refresh=full_refresh)


@dataclass
class Landed:
    """What one landing committed (or why it did not)."""

    rows: int
    rejected: int
    commit: CommitResult | None
    blocked: AuditResult | None = None
    detail: str | None = None


def land_source(ctx: RunContext, step: SourceStep, source: Source | None = None) -> StepResult:
    """Extract, validate and land ``step``'s source; the runner's entry point.

    ``source``: the one the plan read the range from (opened here when not given).
    """
    from duckpipe.runner import StepResult

    known = None
    if not ctx.options.full_refresh and ctx.lake.exists(step.table):
        known = without_metadata(ctx.lake.schema(step.table))
    contract = Contract(step.config.contract, source=step.name, known=known)

    if source is None:
        source = make_source(
            step.name,
            step.config,
            ctx.project.root,
            storage_options=ctx.project.config.storage_options,
        )
    opened = source

    def attempt() -> Landed:
        return _land_once(ctx, step, contract, opened)

    landed = call_with_retry(
        attempt, step.config.retry, what=f"sources.{step.name}", console=ctx.console
    )
    if landed.blocked is not None:
        return StepResult(
            status="blocked",
            rows=landed.rows,
            table=step.table,
            detail=landed.blocked.detail,
            checks=landed.blocked.checks,
        )
    commit = landed.commit
    result = StepResult(
        rows=landed.rows,
        table=step.table,
        version=commit.version if commit else None,
        detail=landed.detail,
        checks=[],
    )
    if contract.schema_changes and step.config.contract.schema_policy == "freeze":
        changes = "; ".join(contract.schema_changes.values())
        error = ContractError(
            f"the schema of source '{step.name}' changed under schema_policy freeze: {changes}; "
            f"{landed.rejected:,} row(s) went to {dlq_table(step.name)}",
            where=f"sources.{step.name}.contract.schema_policy",
            hint="accept the change with schema_policy: evolve (then `duckpipe dlq replay "
            f"{step.name}`), or drop the column in the source",
        )
        result.status, result.detail = "failed", str(error)
    return result


def _land_once(ctx: RunContext, step: SourceStep, contract: Contract, source: Source) -> Landed:
    name, cfg = step.name, step.config
    dead = DeadLetters(name, ctx.run_id)
    metadata = MetadataColumns(name, ctx.run_id, datetime.now(UTC))
    transform = Transform(contract, dead, None)  # metadata columns are added after staging
    staging = ctx.project.state_dir / "staging"
    run_dir = Spool.run_directory(staging, ctx.run_id)
    Spool.sweep(staging, keep=run_dir)
    spool = Spool(run_dir / name)
    extraction = source.extract(step.extract)
    if not extraction.reader.schema.names:  # nothing new to read (no new files)
        extraction.close()
        if ctx.lake.exists(step.table):
            ctx.engine.register(step.table, ctx.lake.dataset(step.table))
        return Landed(0, 0, None, detail="nothing new")
    for warning in extraction.warnings:
        ctx.console.warn(warning)
    try:
        reader = transformed(extraction.reader, cfg.transform, source=name)
        with ctx.console.progress(f"extract {name}") as progress:
            rows = spool.fill(reader, transform, progress)
        position = extraction.next_position()
        write_dead_letters(ctx.lake, dlq_table(name), dead.table())
        if dead.rows:
            ctx.console.warn(f"source {name}: {dead.summary()} -> {dlq_table(name)}")
        staged = metadata.extend(spool.table())
        if set(cfg.primary_key) != set(extraction.unique_on):
            staged = unique_on_key(ctx, name, staged, cfg)
        rows = staged.num_rows
        verdict = audit_staged(ctx, step.table, staged)
        if not verdict.passed:
            return Landed(rows, dead.rows, None, blocked=verdict)
        commit = commit_rows(
            ctx.lake,
            step.table,
            staged,
            cfg,
            incremental=step.extract.start is not None,
            position=Position(writer_id(name), position or {}),
        )
        del staged
    finally:
        extraction.close()
        transform.close()
        dead.close()
        spool.remove()
    ctx.engine.register(step.table, ctx.lake.dataset(step.table))
    detail = f"{rows:,} rows"
    if dead.rows:
        detail += f", {dead.rows:,} rejected -> {dlq_table(name)}"
    return Landed(rows, dead.rows, commit, detail=detail)


def unique_on_key(ctx: RunContext, name: str, rows: pa.Table, cfg: SourceConfig) -> pa.Table:
    """``rows`` with one row per primary key (the latest), when the source has a key."""
    keys = list(cfg.primary_key)
    repeated = duplicate_keys(rows, keys)
    if not repeated:
        return rows
    ctx.console.warn(
        f"source {name}: {repeated:,} key value(s) of ({', '.join(keys)}) occur more than "
        "once; keeping the latest row of each"
    )
    return latest_per_key(rows, keys, cfg.watermark_column)


def audit_staged(ctx: RunContext, table: str, staged: pa.Table) -> AuditResult:
    """Run the quality gate on the staged rows registered under a staging name."""
    from duckpipe.quality import audit

    relation = "__staged_" + table.replace("/", "_")
    ctx.engine.register(relation, staged)
    try:
        return audit(ctx, dataset=table, staged_relation=relation)
    finally:
        ctx.engine.unregister(relation)


def commit_rows(
    lake: Sink,
    table: str,
    rows: pa.Table,
    cfg: SourceConfig,
    *,
    incremental: bool,
    position: Position | None,
) -> CommitResult | None:
    """Commit ``rows`` with ``position``: overwrite on a full load, merge on the primary key
    (or append) on an incremental one. Skips an empty commit that would change nothing."""
    if incremental and rows.num_rows == 0 and lake.exists(table):
        stored = lake.read_position(table, position.writer_id) if position else None
        if position is None or (stored is not None and stored.value == position.value):
            return None
    mode: WriteMode = "overwrite"
    merge = None
    if incremental:
        mode = "append"
        # no rows (all rejected, say) still moves the position: a merge of nothing commits
        # nothing, so the next run would read the same range again
        if (
            rows.num_rows
            and cfg.primary_key
            and lake.capabilities.supports_merge
            and lake.exists(table)
        ):
            mode, merge = "merge", MergeSpec(keys=list(cfg.primary_key))
    schema_mode: SchemaMode | None = None
    if mode != "overwrite":
        schema_mode = "evolve" if cfg.contract.schema_policy == "evolve" else "strict"
    return lake.write(
        table,
        rows,
        mode=mode,
        merge=merge,
        partition_by=cfg.partition_by or None,
        position=position,
        schema_mode=schema_mode,
    )
