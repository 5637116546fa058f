"""What reading Delta files with view-typed text columns costs, side by side with plain files.

delta-rs MERGE writes the files it produces with ``string_view`` columns; pyarrow
cannot filter those, so duckpipe reads them dictionary-encoded (see
``duckpipe/sinks/view_types.py``). Two measurements, in one process:

- ``scan``: an unpartitioned table of ``--rows`` rows in ``--files`` files after a
  library MERGE that rewrote every file (view-typed files), and a copy of the same
  files written plain (the baseline), both read through ``DeltaSink.dataset``: a full
  scan, filters on text columns, a filter on an integer column.
- ``open``: building the dataset of a table of ``--small-files`` one-row files, as
  deltalake's ``to_pyarrow_dataset()`` does it (the baseline) and as duckpipe does it
  (first call in the process: every footer read; later calls: remembered), then a query
  that a partition filter limits to a tenth of the files. ``--s3`` adds the same on a
  local S3-compatible server (moto; real object stores have higher latency per read).

    python benchmarks/reads/bench_view_types.py [--rows 2000000] [--files 8] [--small-files 500] [--s3] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from duckpipe.sinks import MergeSpec, open_sink  # noqa: E402
from duckpipe.sinks.delta import DeltaSink  # noqa: E402


def best_of(work: Callable[[], Any], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t0)
    return best


def customers(rows: int, start: int = 0) -> pa.Table:
    rng = np.random.default_rng(start + 1)
    ids = np.arange(start, start + rows, dtype=np.int64)
    return pa.table(
        {
            "id": ids,
            "email": pa.array([f"user{i:09d}@example.com" for i in ids]),
            "tier": pa.array(np.where(rng.random(rows) < 0.1, "gold", "basic")),
            "balance": rng.random(rows) * 1000,
        }
    )


def read(sink: DeltaSink, table: str, where: pc.Expression | None) -> Callable[[], pa.Table]:
    return lambda: sink.dataset(table).to_table(filter=where)


def scan(work: Path, rows: int, files: int) -> dict[str, dict[str, float]]:
    sink = DeltaSink(str(work / "scan"))
    per_file = rows // files
    for i in range(files):
        sink.write("merged", customers(per_file, i * per_file))
    step = max(per_file // 100, 1)  # a few changed rows in every file: MERGE rewrites them all
    changed = customers(rows).take(pa.array(np.arange(0, rows, step)))
    changed = changed.set_column(2, "tier", pa.array(["gold"] * changed.num_rows))
    sink.write("merged", changed, mode="merge", merge=MergeSpec(keys=["id"], strategy="library"))
    for fragment in sink.dataset("merged").get_fragments():  # the same files, written plain
        sink.write("plain", fragment.to_table())
    probe = f"user{rows // 2:09d}@example.com"
    filters = {
        "full scan": None,
        "email = one value": pc.field("email") == probe,
        "tier = 'gold'": pc.field("tier") == "gold",
        "id = one value": pc.field("id") == rows // 2,
    }
    out = {}
    for name, where in filters.items():
        seconds = {table: best_of(read(sink, table, where)) for table in ("plain", "merged")}
        out[name] = {
            "plain_s": round(seconds["plain"], 4),
            "view_s": round(seconds["merged"], 4),
            "ratio": round(seconds["merged"] / seconds["plain"], 2),
        }
    return out


def open_cost(uri: str, options: dict[str, str] | None, small_files: int) -> dict[str, float]:
    from duckpipe.sinks import view_types

    sink = open_sink(uri, format="delta", storage_options=options)
    for i in range(small_files):
        sink.write(
            "events",
            pa.table({"id": [i], "day": [f"d{i % 10}"], "name": [f"n{i}"]}),
            partition_by=["day"],
        )
    dt = sink._open("events")  # type: ignore[attr-defined]
    one_day = pc.field("day") == "d3"
    view_types._known.clear()
    first = best_of(lambda: sink.dataset("events"), rounds=1)
    again = best_of(lambda: sink.dataset("events"))
    plain = best_of(lambda: dt.to_pyarrow_dataset())
    view_types._known.clear()
    first_query = best_of(lambda: sink.dataset("events").to_table(filter=one_day), rounds=1)
    plain_query = best_of(lambda: dt.to_pyarrow_dataset().to_table(filter=one_day))
    again_query = best_of(lambda: sink.dataset("events").to_table(filter=one_day))
    return {
        "dataset: deltalake_s": round(plain, 4),
        "dataset: duckpipe first_s": round(first, 4),
        "dataset: duckpipe again_s": round(again, 4),
        "dataset: first x deltalake": round(first / plain, 2),
        "one-day query: deltalake_s": round(plain_query, 4),
        "one-day query: duckpipe first_s": round(first_query, 4),
        "one-day query: duckpipe again_s": round(again_query, 4),
        "one-day query: first x deltalake": round(first_query / plain_query, 2),
        "one-day query: again x deltalake": round(again_query / plain_query, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--small-files", type=int, default=500)
    parser.add_argument("--s3", action="store_true", help="also on a local moto S3 server")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="duckpipe-bench-views-"))
    results: dict[str, Any] = {"rows": args.rows, "files": args.files}
    try:
        results["scan"] = scan(work, args.rows, args.files)
        results["open local"] = open_cost(str(work / "open"), None, args.small_files)
        if args.s3:
            from tests.services import S3Service

            with S3Service.launch() as s3:
                bucket = s3.make_bucket()
                results["open s3"] = open_cost(
                    f"s3://{bucket}/lake", s3.delta_storage_options(), args.small_files
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results))
        return
    print(f"scan: {args.rows:,} rows in {args.files} files, best of 3")
    print(f"  {'query':22} {'plain s':>9} {'view s':>9} {'x plain':>8}")
    for name, r in results["scan"].items():
        print(f"  {name:22} {r['plain_s']:9.4f} {r['view_s']:9.4f} {r['ratio']:8.2f}")
    for place in ("open local", "open s3"):
        if place in results:
            print(f"{place}: {args.small_files} one-row files in 10 partitions")
            for name, value in results[place].items():
                print(f"  {name:36} {value:9.4f}")


if __name__ == "__main__":
    main()
