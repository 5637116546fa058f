"""PostgreSQL extraction: duckpipe's landing path against a plain script, raw ADBC and psql.

One PostgreSQL table of ``--rows`` rows (ids, a foreign key, numeric(12,2), text, a date,
timestamptz) is read, side by side in one session, by:

- ``psql COPY binary``: ``COPY (query) TO STDOUT (FORMAT binary)`` by ``psql`` into
  /dev/null, the server's own floor;
- ``raw ADBC read``: the same query through ``adbc_driver_postgresql``, batches counted
  and dropped;
- ``plain ADBC -> Delta``: the script people write, ``fetch_arrow_table()`` then
  ``write_deltalake`` (sequential, the whole table in memory);
- ``duckpipe extract``: duckpipe's PostgreSQL source alone (numeric as decimal), streamed;
- ``duckpipe land``: ``duckpipe run`` of a project with that source: contract,
  metadata columns, staging, the quality gate, one Delta commit with the watermark.

Every variant runs in its own process; its peak RSS is taken from the kernel
(``ru_maxrss``, including memory-mapped file pages) and from a sampler of anonymous
memory (``RssAnon``: what the process itself allocated).

    python benchmarks/extract/bench_extract.py [--rows 2000000] [--rounds 3] [--uri URI] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TABLE = "bench_orders"
QUERY = f"SELECT * FROM {TABLE}"
VARIANTS = ["psql", "adbc", "plain", "extract", "land"]
LABELS = {
    "psql": "psql COPY binary",
    "adbc": "raw ADBC read",
    "plain": "plain ADBC -> Delta",
    "extract": "duckpipe extract",
    "land": "duckpipe land",
}


def create_table(uri: str, rows: int) -> None:
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM pg_tables WHERE tablename = '{TABLE}'")
        if cur.fetchone()[0]:
            cur.execute(f"SELECT count(*) FROM {TABLE}")
            if cur.fetchone()[0] == rows:
                return
            cur.execute(f"DROP TABLE {TABLE}")
        cur.execute(
            f"""CREATE TABLE {TABLE} AS SELECT g::bigint AS id, (g % 100000)::int AS customer_id,
                round((g % 100000) * 0.37, 2)::numeric(12,2) AS amount,
                (ARRAY['placed','shipped','completed','returned'])[1 + g % 4] AS status,
                'note ' || md5(g::text) AS note,
                DATE '2023-01-01' + (g % 730) AS order_date,
                TIMESTAMPTZ '2023-01-01 00:00:00+00' + g * INTERVAL '1 second' AS updated_at
                FROM generate_series(1, {rows}) g"""
        )
        cur.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id)")
        cur.execute(f"CREATE INDEX ON {TABLE} (updated_at)")
        cur.execute(f"VACUUM ANALYZE {TABLE}")


# -- the variants (each runs in a child process) ---------------------------------------


def variant_psql(uri: str, work: Path) -> int:
    copy = f"COPY ({QUERY}) TO STDOUT (FORMAT binary)"
    with open(os.devnull, "wb") as sink:
        subprocess.run(["psql", uri, "-X", "-q", "-c", copy], stdout=sink, check=True)
    return -1  # rows are counted by the parent


def variant_adbc(uri: str, work: Path) -> int:
    import adbc_driver_postgresql.dbapi as pg

    rows = 0
    with pg.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(QUERY)
        for batch in cur.fetch_record_batch():
            rows += batch.num_rows
    return rows


def variant_plain(uri: str, work: Path) -> int:
    import adbc_driver_postgresql.dbapi as pg
    from deltalake import write_deltalake

    with pg.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(QUERY)
        table = cur.fetch_arrow_table()
    # numeric arrives as opaque text; a plain script keeps the storage column
    columns = [c.storage if hasattr(c, "storage") else c for c in table.columns]
    columns = [
        c.cast(c.type.storage_type) if hasattr(c.type, "storage_type") else c for c in columns
    ]
    import pyarrow as pa

    table = pa.Table.from_arrays(columns, names=table.column_names)
    write_deltalake(str(work / "plain"), table, mode="overwrite")
    return table.num_rows


def variant_extract(uri: str, work: Path) -> int:
    from duckpipe.config import SourceConfig
    from duckpipe.sources.postgres import PostgresSource

    source = PostgresSource("orders", SourceConfig(uri=uri, query=QUERY))
    rows = 0
    for batch in source.extract(source.plan(None)).reader:
        rows += batch.num_rows
    return rows


def variant_land(uri: str, work: Path) -> int:
    import yaml

    from duckpipe.project import load_project
    from duckpipe.runner import run_project

    project_dir = work / "project"
    project_dir.mkdir(exist_ok=True)
    source = {
        "uri": uri,
        "table": TABLE,
        "watermark_column": "updated_at",
        "primary_key": "id",
        "contract": {"required_fields": ["id", "customer_id"]},
    }
    config = {"name": "bench", "lake": str(work / "lake"), "sources": {"orders": source}}
    (project_dir / "duckpipe.yml").write_text(yaml.safe_dump(config))
    report = run_project(load_project(project_dir))
    step = report.step("orders")
    if step.status != "ok":
        raise RuntimeError(step.detail)
    return int(step.rows or 0)


def child(variant: str, uri: str, work: Path) -> dict[str, Any]:
    peak_anon = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak_anon[0] = max(peak_anon[0], _rss_anon())
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    rows = globals()[f"variant_{variant}"](uri, work)
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    usage = resource.getrusage(
        resource.RUSAGE_CHILDREN if variant == "psql" else resource.RUSAGE_SELF
    )
    return {
        "variant": variant,
        "rows": rows,
        "seconds": seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "peak_anon_mb": peak_anon[0] / 1024 if variant != "psql" else None,
    }


def _rss_anon() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


# -- the parent ---------------------------------------------------------------------------


def run_variant(variant: str, uri: str) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-{variant}-"))
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", variant, "--uri", uri, "--work", str(work)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--uri", help="an existing PostgreSQL (default: start a throw-away one)")
    parser.add_argument("--only", nargs="*", choices=VARIANTS, default=VARIANTS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.uri, args.work)))
        return

    service = None
    uri = args.uri
    if uri is None:
        sys.path.insert(0, str(ROOT))
        from tests.services import PostgresService

        service = PostgresService.launch()
        uri = service.uri
    try:
        create_table(uri, args.rows)
        results: dict[str, list[dict[str, Any]]] = {v: [] for v in args.only}
        for _ in range(args.rounds):
            for variant in args.only:  # interleaved, so drift hits every variant alike
                results[variant].append(run_variant(variant, uri))
        report(results, args.rows, as_json=args.json)
    finally:
        if service is not None:
            service.close()


def report(results: dict[str, list[dict[str, Any]]], rows: int, *, as_json: bool) -> None:
    summary = {}
    for variant, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        summary[variant] = {
            "seconds": round(seconds, 3),
            "rows_per_s": round(rows / seconds),
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
            "peak_anon_mb": (
                round(max(r["peak_anon_mb"] for r in runs), 1)
                if runs[0]["peak_anon_mb"] is not None
                else None
            ),
            "runs": [round(r["seconds"], 3) for r in runs],
        }
    plain = summary.get("plain", {}).get("seconds")
    floor = summary.get("psql", {}).get("seconds")
    for entry in summary.values():
        entry["x_plain"] = round(entry["seconds"] / plain, 2) if plain else None
        entry["x_psql"] = round(entry["seconds"] / floor, 2) if floor else None
    if as_json:
        print(json.dumps({"rows": rows, "results": summary}, indent=2))
        return
    print(f"PostgreSQL extraction, {rows:,} rows, median of {len(next(iter(results.values())))}")
    header = (
        f"{'variant':<22}{'seconds':>9}{'rows/s':>12}{'x plain':>9}{'x psql':>8}"
        f"{'peak RSS MB':>13}{'anon MB':>9}"
    )
    print(header)
    for variant, entry in summary.items():
        anon = f"{entry['peak_anon_mb']:.0f}" if entry["peak_anon_mb"] is not None else "-"
        print(
            f"{LABELS[variant]:<22}{entry['seconds']:>9.2f}{entry['rows_per_s']:>12,}"
            f"{entry['x_plain'] or 0:>9.2f}{entry['x_psql'] or 0:>8.2f}"
            f"{entry['peak_rss_mb']:>13.0f}{anon:>9}"
        )


if __name__ == "__main__":
    main()
