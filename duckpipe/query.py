"""Ad hoc queries over a project: every lake table, seed and model by name."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.engine import Engine
    from duckpipe.project import Project


def open_query_engine(project: Project, *, as_of: str | None = None) -> Engine:
    """An engine with the project's lake tables attached (optionally as of a version) and its views."""
    from duckpipe.engine import Engine
    from duckpipe.transform.build import attach_project

    engine = Engine()
    lake = project.open_lake()
    version_of: dict[str, int | str] | None = None
    if as_of is not None:
        from duckpipe.sinks.timetravel import parse_as_of

        moment = parse_as_of(as_of)  # a clear error for a value that is neither
        value: int | str = moment if isinstance(moment, int) else moment.isoformat()
        version_of = {t: value for t in lake.tables()}
    engine.attach_lake(lake, version_of=version_of)
    attach_project(engine, project)
    return engine


def write_result(
    table: pa.Table, fmt: str, *, limit: int = 1000, stream: TextIO | None = None
) -> None:
    """Print ``table`` as a terminal table, CSV or JSON lines."""
    stream = stream or sys.stdout
    if fmt == "csv":
        import io

        import pyarrow.csv as pcsv

        buffer = io.BytesIO()
        pcsv.write_csv(table, buffer)
        stream.write(buffer.getvalue().decode())
        return
    if fmt == "json":
        import json

        for row in table.to_pylist():
            stream.write(json.dumps(row, default=str) + "\n")
        return
    from duckpipe.core.console import RichConsole

    rows = [list(r.values()) for r in table.slice(0, limit).to_pylist()]
    RichConsole(stream).table("", table.column_names, rows)
    if table.num_rows > limit:
        stream.write(f"({table.num_rows:,} rows, {limit} shown)\n")
