"""MERGE of changed rows into a large partitioned table, Delta and Iceberg, side by side.

A table of ``--rows`` rows (id, day partition, customer, amount, status, updated_at)
spread over ``--days`` daily partitions receives ``--changes`` changed rows keyed on
``id``: 90 % updates of rows in the latest ``--touched-days`` partitions, 10 % new
rows (the shape of a daily CDC batch). Each variant starts from a freshly written
table, in the same process, one after another:

- ``delete+append``: the baseline the issue names: delete the changed keys and
  append the changed rows in one transaction (Delta: ``replaceWhere id IN (...)``;
  Iceberg: ``overwrite(overwrite_filter=In(id, ...))``);
- ``library merge``: delta-rs ``MERGE`` / pyiceberg ``upsert``;
- ``duckpipe rewrite``: duckpipe's strategy: the touched partitions (Delta) or
  files (Iceberg) are recomputed in DuckDB and replaced in one commit.

Every variant's result is checked (row count and a checksum) against the others.

    python benchmarks/merge/bench_merge.py [--rows 5000000] [--changes 100000] [--formats delta iceberg] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from duckpipe.sinks import MergeSpec, open_sink  # noqa: E402
from duckpipe.sinks.base import Sink  # noqa: E402

VARIANTS = ["delete+append", "library merge", "duckpipe rewrite"]


def base_table(rows: int, days: int) -> pa.Table:
    rng = np.random.default_rng(1)
    ids = np.arange(rows, dtype=np.int64)
    start = date(2024, 1, 1)
    day_index = ids * days // rows  # ids grow with the day, like an append-only order log
    return pa.table(
        {
            "id": ids,
            "day": pa.array(
                [start + timedelta(days=int(d)) for d in range(days)], pa.date32()
            ).take(pa.array(day_index)),
            "customer_id": rng.integers(0, 100_000, rows),
            "amount": rng.random(rows) * 100,
            "status": pa.array(np.where(rng.random(rows) < 0.5, "open", "paid")),
            "updated_at": pa.array(
                np.full(rows, 1_704_067_200_000_000), pa.timestamp("us", tz="UTC")
            ),
        }
    )


def changes(base: pa.Table, count: int, days: int, touched: int) -> pa.Table:
    rng = np.random.default_rng(2)
    rows = base.num_rows
    first_touched = rows * (days - touched) // days
    updates = rng.choice(np.arange(first_touched, rows), size=int(count * 0.9), replace=False)
    changed = base.take(pa.array(np.sort(updates)))
    changed = changed.set_column(3, "amount", pa.array(rng.random(changed.num_rows) * 1000))
    changed = changed.set_column(4, "status", pa.array(["refunded"] * changed.num_rows))
    inserts = count - changed.num_rows
    last_day = base.column("day")[rows - 1]
    new = pa.table(
        {
            "id": np.arange(rows, rows + inserts, dtype=np.int64),
            "day": pa.array([last_day.as_py()] * inserts, pa.date32()),
            "customer_id": rng.integers(0, 100_000, inserts),
            "amount": rng.random(inserts) * 1000,
            "status": pa.array(["open"] * inserts),
            "updated_at": pa.array(
                np.full(inserts, 1_704_153_600_000_000), pa.timestamp("us", tz="UTC")
            ),
        }
    )
    return pa.concat_tables([changed, new.cast(changed.schema)])


def fresh(fmt: str, work: Path, base: pa.Table) -> Sink:
    shutil.rmtree(work, ignore_errors=True)
    sink = open_sink(str(work / "lake"), format=fmt, state_dir=work / "state")
    sink.write("orders", base, partition_by=["day"])
    return sink


def delete_append(fmt: str, sink: Sink, data: pa.Table) -> None:
    ids = data.column("id").to_pylist()
    if fmt == "delta":
        from deltalake import write_deltalake

        predicate = f"id IN ({', '.join(map(str, ids))})"
        # delta-rs parses the predicate on the calling thread; 100k literals need a deep stack
        in_big_stack(
            lambda: write_deltalake(sink.uri("orders"), data, mode="overwrite", predicate=predicate)  # type: ignore[attr-defined]
        )
    else:
        from pyiceberg.expressions import In

        tbl = sink._load("orders")  # type: ignore[attr-defined]
        with tbl.transaction() as txn:
            txn.overwrite(data, overwrite_filter=In("id", set(ids)))


def in_big_stack(work: Callable[[], None]) -> None:
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    previous = threading.stack_size(1024 * 1024 * 1024)
    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous)
    if errors:
        raise errors[0]


def library(fmt: str, sink: Sink, data: pa.Table) -> None:
    sink.write("orders", data, mode="merge", merge=MergeSpec(keys=["id"], strategy="library"))


def rewrite(fmt: str, sink: Sink, data: pa.Table) -> None:
    sink.write("orders", data, mode="merge", merge=MergeSpec(keys=["id"], strategy="rewrite"))


RUNNERS: dict[str, Callable[[str, Sink, pa.Table], None]] = {
    "delete+append": delete_append,
    "library merge": library,
    "duckpipe rewrite": rewrite,
}


def checksum(sink: Sink) -> tuple[int, float]:
    import duckdb

    con = duckdb.connect()
    con.register("t", sink.dataset("orders"))
    row = con.execute("select count(*), round(sum(amount), 3) from t").fetchone()
    assert row is not None
    return int(row[0]), float(row[1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    base = base_table(args.rows, args.days)
    data = changes(base, args.changes, args.days, args.touched_days)
    results: dict[str, Any] = {
        "rows": args.rows,
        "changes": args.changes,
        "days": args.days,
        "formats": {},
    }
    work = Path(tempfile.mkdtemp(prefix="duckpipe-bench-merge-"))
    try:
        for fmt in args.formats:
            timings: dict[str, float] = {}
            sums: dict[str, tuple[int, float]] = {}
            for i, variant in enumerate(args.variants):
                place = work / f"{fmt}-{i}"
                sink = fresh(fmt, place, base)
                t0 = time.perf_counter()
                RUNNERS[variant](fmt, sink, data)
                timings[variant] = time.perf_counter() - t0
                sums[variant] = checksum(
                    open_sink(str(place / "lake"), format=fmt, state_dir=place / "state")
                )
                shutil.rmtree(place / "lake", ignore_errors=True)
                print(
                    f"{fmt:8} {variant:18} {timings[variant]:8.2f} s  rows={sums[variant][0]:,}",
                    file=sys.stderr,
                )
            assert len(set(sums.values())) == 1, f"variants disagree: {sums}"
            baseline = timings.get("delete+append")
            results["formats"][fmt] = {
                "seconds": {k: round(v, 3) for k, v in timings.items()},
                "ratio_to_delete_append": {k: round(v / baseline, 2) for k, v in timings.items()}
                if baseline
                else {},
                "rows_after": sums[args.variants[0]][0],
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=50, help="daily partitions")
    parser.add_argument(
        "--touched-days", type=int, default=10, help="latest partitions the updates fall in"
    )
    parser.add_argument(
        "--formats", nargs="+", default=["delta", "iceberg"], choices=["delta", "iceberg"]
    )
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results = run(args)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"merge of {args.changes:,} changed rows into {args.rows:,} rows, {args.days} partitions")
    for fmt, res in results["formats"].items():
        for variant, seconds in res["seconds"].items():
            ratio = res["ratio_to_delete_append"].get(variant)
            print(f"  {fmt:8} {variant:18} {seconds:9.2f} s   x{ratio} of delete+append")


if __name__ == "__main__":
    main()
