"""Land a source into the lake: extract -> validate -> metadata columns -> commit with position."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from duckpipe.plan import landed_table
from duckpipe.sinks.base import Position, WriteMode
from duckpipe.sources import make_source

if TYPE_CHECKING:
    from duckpipe.config import SourceConfig
    from duckpipe.plan import SourceStep
    from duckpipe.project import Project
    from duckpipe.runner import RunContext, StepResult
    from duckpipe.sinks.base import Sink
    from duckpipe.sources.base import ExtractRange


def writer_id(source: str) -> str:
    return f"source:{source}"


def plan_source(
    project: Project, lake: Sink, name: str, cfg: SourceConfig, *, full_refresh: bool = False
) -> ExtractRange:
    """The range ``name`` would read now, from the position stored in its landed table."""
    table = landed_table(name, cfg)
    stored = None if full_refresh else lake.read_position(table, writer_id(name))
    source = make_source(name, cfg, project.root)
    return source.plan(stored.value if stored else None, full_refresh=full_refresh)


def land_source(ctx: RunContext, step: SourceStep) -> StepResult:
    import pyarrow as pa

    from duckpipe.runner import StepResult

    source = make_source(step.name, step.config, ctx.project.root)
    extraction = source.extract(step.extract)
    data = extraction.reader.read_all()
    now = pa.scalar(datetime.now(UTC), pa.timestamp("us", tz="UTC"))
    data = data.append_column("_extracted_at", pa.array([now.as_py()] * data.num_rows, now.type))
    data = data.append_column("_source", pa.array([step.name] * data.num_rows, pa.string()))
    data = data.append_column("_run_id", pa.array([ctx.run_id] * data.num_rows, pa.string()))
    position = extraction.next_position()
    mode: WriteMode = "overwrite" if step.extract.start is None else "append"
    result = ctx.lake.write(
        step.table,
        data,
        mode=mode,
        partition_by=step.config.partition_by,
        position=Position(writer_id(step.name), position or {}),
    )
    ctx.engine.register(step.table, ctx.lake.dataset(step.table))
    return StepResult(rows=data.num_rows, table=step.table, version=result.version)
