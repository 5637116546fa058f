"""A pipeline writer run as a separate process by the crash and concurrency tests.

    python -m tests.sinks.writer FORMAT ROOT STATE TABLE WRITER COMMITS [MODE]

Each commit writes ``ROWS`` rows tagged with the batch number, together with the
position ``{"batch": n}``; it resumes after the last committed position, like a
pipeline restarted after a crash. MODE ``overwrite`` replaces the partition
``part = 'p'`` instead of appending (to force retryable conflicts).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa

from duckpipe.sinks import Position, open_sink

ROWS = 50


def batch(writer: str, n: int) -> pa.Table:
    return pa.table(
        {
            "writer": [writer] * ROWS,
            "batch": pa.array([n] * ROWS, pa.int64()),
            "row": pa.array(range(ROWS), pa.int64()),
            "part": ["p"] * ROWS,
        }
    )


def main(argv: list[str]) -> None:
    fmt, root, state, table, writer, commits = argv[:6]
    mode = argv[6] if len(argv) > 6 else "append"
    lake = open_sink(root, format=fmt, state_dir=Path(state))
    stored = lake.read_position(table, writer)
    start = stored.value["batch"] + 1 if stored else 0
    for n in range(start, start + int(commits)):
        data = batch(writer, n)
        if mode == "overwrite":
            lake.write(
                table,
                data,
                mode="overwrite",
                predicate="part = 'p'",
                position=Position(writer, {"batch": n}),
            )
        else:
            lake.write(table, data, partition_by=["part"], position=Position(writer, {"batch": n}))
        print(n, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
