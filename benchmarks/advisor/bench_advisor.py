"""How long `duckpipe cost-report` takes per table, against a plain listing of the same files.

A Delta table of --delta-files small files (committed in batches through deltalake) and an
Iceberg table of --iceberg-files files (added in batches through pyiceberg) are generated
once. Each round then times, in one process and alternating the order, a recursive listing
of the table's folder (the floor: no metadata tool can know the files without it) and the
advisor's full analysis of the same folder (listing, log/manifest reading, footer sample,
vacuum/expiry dry run, rules). The ratio analysis / listing is the price of the metadata.

    python benchmarks/advisor/bench_advisor.py [--delta-files 100000] [--iceberg-files 10000]
                                               [--rounds 3] [--dir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from duckpipe.advisor import analyze_lake  # noqa: E402
from duckpipe.advisor.storage import open_location  # noqa: E402
from tests.advisor.lakes import (  # noqa: E402
    delta_many_files,
    iceberg_add_files,
    iceberg_catalog,
)


def generate(workdir: Path, delta_files: int, iceberg_files: int) -> dict[str, Path]:
    """Write both tables (skipped when a previous run left them in ``workdir``)."""
    delta = workdir / f"delta_{delta_files}"
    iceberg = workdir / "wh" / "ns" / f"iceberg_{iceberg_files}"
    if not (delta / "_delta_log").exists():
        started = time.perf_counter()
        delta_many_files(str(delta), delta_files, batch=10_000, same_bytes=True)
        print(
            f"generated {delta_files:,} Delta files in {time.perf_counter() - started:.0f}s",
            file=sys.stderr,
        )
    if not (iceberg / "metadata").exists():
        started = time.perf_counter()
        catalog = iceberg_catalog(f"file://{workdir}/wh", workdir / "catalog.db")
        from pyiceberg.schema import Schema
        from pyiceberg.types import DoubleType, LongType, NestedField, StringType

        table = catalog.create_table(
            f"ns.iceberg_{iceberg_files}",
            schema=Schema(
                NestedField(1, "id", LongType(), required=False),
                NestedField(2, "value", DoubleType(), required=False),
                NestedField(3, "note", StringType(), required=False),
            ),
        )
        iceberg_add_files(table, str(iceberg), iceberg_files, batch=1_000)
        print(
            f"generated {iceberg_files:,} Iceberg files in {time.perf_counter() - started:.0f}s",
            file=sys.stderr,
        )
    return {"delta": delta, "iceberg": iceberg}


def time_listing(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    files = open_location(str(path)).list_files()
    return time.perf_counter() - started, len(files)


def time_analysis(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    report = analyze_lake(str(path))
    return time.perf_counter() - started, report.tables[0].file_count


def measure(tables: dict[str, Path], rounds: int) -> list[dict[str, object]]:
    results = []
    for kind, path in tables.items():
        listing, analysis = [], []
        objects = data_files = 0
        for r in range(rounds):
            steps = [("list", time_listing), ("analyse", time_analysis)]
            for name, step in steps if r % 2 == 0 else steps[::-1]:
                seconds, count = step(path)
                if name == "list":
                    listing.append(seconds)
                    objects = count
                else:
                    analysis.append(seconds)
                    data_files = count
        lst, ana = statistics.median(listing), statistics.median(analysis)
        results.append(
            {
                "table": kind,
                "data_files": data_files,
                "objects_listed": objects,
                "listing_s": round(lst, 3),
                "analysis_s": round(ana, 3),
                "ratio": round(ana / lst, 2),
                "rounds": rounds,
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delta-files", type=int, default=100_000)
    parser.add_argument("--iceberg-files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="keep generated tables here")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="duckpipe-bench-advisor-") as tmp:
        workdir = args.dir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        tables = generate(workdir, args.delta_files, args.iceberg_files)
        results = measure(tables, args.rounds)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{'table':<8} {'data files':>10} {'objects':>9} {'listing':>9} {'analysis':>9} {'ratio':>6}"
    )
    for r in results:
        print(
            f"{r['table']:<8} {r['data_files']:>10,} {r['objects_listed']:>9,} "
            f"{r['listing_s']:>8.3f}s {r['analysis_s']:>8.3f}s {r['ratio']:>5.1f}x"
        )


if __name__ == "__main__":
    main()
