"""SQL models over a few million rows: duckpipe vs its compiled SQL in plain DuckDB vs dbt-duckdb.

The project in ``project/`` (staging views over Parquet, an ephemeral model, five table
marts) runs, side by side in one session:

- ``duckpipe``: ``run_project`` in this process (warm) and ``duckpipe run`` as a new
  process (cold: imports, plan and all);
- ``plain+delta``: the SQL ``duckpipe compile`` wrote, executed by a plain DuckDB script
  that also writes each table to Delta (the same outputs as duckpipe);
- ``plain``: the same script keeping tables in DuckDB only (no lake);
- ``dbt-duckdb``: ``dbt run`` on the same models/ (tables in a DuckDB file), when an
  executable is given with ``--dbt`` (install it in its own venv).

    python benchmarks/models/bench_models.py [--scale 1] [--rounds 3] [--cold 2]
        [--concurrency 1] [--dbt /tmp/dbtvenv/bin/dbt] [--json]

``--scale 1`` is 3M orders, 6M order lines, 200k customers, 10k products.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "project"


def generate_data(data: Path, scale: float) -> dict[str, int]:
    """Deterministic Parquet inputs (hash-derived values, no randomness)."""
    import duckdb

    data.mkdir(parents=True, exist_ok=True)
    sizes = {
        "customers": int(200_000 * scale),
        "products": 10_000,
        "orders": int(3_000_000 * scale),
    }
    con = duckdb.connect()
    queries = {
        "customers": f"""
            select range as customer_id, 'customer ' || range as name,
                   ['uk','us','de','fr','nl','fi','se','es','it','pl'][1 + cast(hash(range) % 10 as bigint)] as country,
                   date '2020-01-01' + cast(hash(range * 7) % 1500 as integer) as signup_date
            from range({sizes["customers"]})""",
        "products": f"""
            select range as product_id, 'category ' || (range % 50) as category,
                   round(1 + cast(hash(range) % 5000 as bigint) / 100.0, 2) as cost
            from range({sizes["products"]})""",
        "orders": f"""
            select range as order_id, cast(hash(range) % {sizes["customers"]} as bigint) as customer_id,
                   date '2023-01-01' + cast(hash(range * 3) % 730 as integer) as order_date,
                   ['placed','shipped','completed','returned','cancelled'][1 + cast(hash(range * 5) % 5 as bigint)] as status,
                   ['web','app','store'][1 + cast(hash(range * 11) % 3 as bigint)] as channel
            from range({sizes["orders"]})""",
        "order_items": f"""
            select row_number() over () as item_id, o as order_id,
                   cast(hash(o * 13 + n) % {sizes["products"]} as bigint) as product_id,
                   1 + cast(hash(o + n) % 5 as bigint) as quantity,
                   round(2 + cast(hash(o * 17 + n) % 20000 as bigint) / 100.0, 2) as unit_price
            from range({sizes["orders"]}) t(o), range(2) u(n)""",
    }
    rows = {}
    for name, query in queries.items():
        target = data / f"{name}.parquet"
        if not target.exists():
            con.execute(f"copy ({query}) to '{target}' (format parquet)")
        rows[name] = con.execute(f"select count(*) from '{target}'").fetchall()[0][0]
    con.close()
    return rows


def fresh_project(workdir: Path, name: str, data: Path, concurrency: int) -> Path:
    root = workdir / name
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(PROJECT, root)
    config = (root / "duckpipe.yml").read_text().replace("../data", str(data))
    if concurrency > 1:
        config = config.replace("models:\n", f"models:\n  concurrency: {concurrency}\n", 1)
    (root / "duckpipe.yml").write_text(config)
    return root


def compile_manifest(root: Path) -> Path:
    """Compile with duckpipe and list the models in run order for the plain script."""
    from duckpipe.plan import ModelStep, RunOptions
    from duckpipe.project import load_project
    from duckpipe.transform.compile import compile_project
    from duckpipe.transform.steps import plan_models

    project = load_project(root)
    outcomes = {o.name: o for o in compile_project(project, RunOptions())}
    manifest = [
        {
            "name": step.name,
            "materialized": step.materialized,
            "compiled": str(root / str(outcomes[step.name].path)),
        }
        for step in plan_models(project, RunOptions())
        if isinstance(step, ModelStep) and step.materialized != "ephemeral"
    ]
    path = root / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    return path


def dbt_project(workdir: Path, data: Path, threads: int) -> Path:
    """The same models/ as a dbt project (marts as tables) with a DuckDB profile."""
    root = workdir / "dbt"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir()
    shutil.copytree(PROJECT / "models", root / "models")
    (root / "dbt_project.yml").write_text(
        "name: bench\nversion: '1.0'\nprofile: bench\n"
        f"vars:\n  data_dir: '{data}'\n"
        "models:\n  bench:\n    +materialized: view\n    marts:\n      +materialized: table\n"
    )
    (root / "profiles.yml").write_text(
        "bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: '{root / 'bench.duckdb'}'\n      threads: {threads}\n"
    )
    return root


class Clock:
    """Wall and CPU seconds (this process, all threads, plus waited-for children) per variant.

    CPU time is reported next to wall time because a shared machine makes wall time noisy.
    """

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def time(self, variant: str, action: Callable[[], object]) -> None:
        cpu0, wall0 = _cpu(), time.perf_counter()
        action()
        self.wall.setdefault(variant, []).append(time.perf_counter() - wall0)
        self.cpu.setdefault(variant, []).append(_cpu() - cpu0)

    def medians(self) -> dict[str, dict[str, float]]:
        return {
            "wall": {k: statistics.median(v) for k, v in self.wall.items()},
            "cpu": {k: statistics.median(v) for k, v in self.cpu.items()},
        }


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_duckpipe_warm(root: Path) -> None:
    from duckpipe.project import load_project
    from duckpipe.runner import run_project

    report = run_project(load_project(root))
    if not report.ok:
        failed = [(s.name, s.detail) for s in report.record.steps if s.status != "ok"]
        raise SystemExit(f"duckpipe run failed: {failed}")


def measure(args: argparse.Namespace) -> dict[str, object]:
    sys.path.insert(0, str(HERE))
    from plain_duckdb import run_plain

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="duckpipe-bench-"))
    data = workdir / "data"
    rows = generate_data(data, args.scale)
    manifest_path = compile_manifest(fresh_project(workdir, "compiled", data, 1))
    manifest = json.loads(manifest_path.read_text())
    python = sys.executable
    duckpipe_cli = str(Path(python).parent / "duckpipe")
    script = str(HERE / "plain_duckdb.py")
    variants = ["duckpipe", "plain+delta", "plain"]
    if args.concurrency > 1:
        variants.append(f"duckpipe x{args.concurrency}")

    # one untimed run of each first: imports and file caches are start-up, measured cold below
    run_duckpipe_warm(fresh_project(workdir, "warm-up", data, args.concurrency))
    run_plain(manifest, workdir / "warm-up" / "plain-lake")
    warm, cold = Clock(), Clock()
    for i in range(args.rounds):
        for kind in variants[i % len(variants) :] + variants[: i % len(variants)]:
            workers = args.concurrency if kind.startswith("duckpipe x") else 1
            root = fresh_project(workdir, f"warm-{i}", data, workers)
            if kind.startswith("duckpipe"):
                warm.time(kind, lambda r=root: run_duckpipe_warm(r))  # type: ignore[misc]
            else:
                lake = root / "lake" if kind == "plain+delta" else None
                warm.time(kind, lambda lk=lake: run_plain(manifest, lk))  # type: ignore[misc]
    for i in range(args.cold):
        root = fresh_project(workdir, "cold-duckpipe", data, 1)
        lake = workdir / "cold-plain-lake"
        shutil.rmtree(lake, ignore_errors=True)
        commands = {
            "duckpipe": [duckpipe_cli, "-p", str(root), "run"],
            "plain+delta": [python, script, str(manifest_path), "--lake", str(lake)],
        }
        if args.dbt:
            dbt_root = dbt_project(workdir, data, args.dbt_threads)
            commands["dbt-duckdb"] = [
                *(args.dbt, "run", "--project-dir", str(dbt_root)),
                *("--profiles-dir", str(dbt_root)),
            ]
        names = list(commands)
        for kind in names[i % len(names) :] + names[: i % len(names)]:
            cold.time(kind, lambda c=commands[kind]: _run(c))  # type: ignore[misc]
    startup = Clock()
    for _ in range(3):
        startup.time("duckpipe --help", lambda: _run([duckpipe_cli, "--help"]))
        startup.time(
            "python -c 'import duckdb, deltalake, pyarrow'",
            lambda: _run([python, "-c", "import duckdb, deltalake, pyarrow"]),
        )
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return report(rows, warm, cold, startup, args)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )


def report(
    rows: dict[str, int], warm: Clock, cold: Clock, startup: Clock, args: argparse.Namespace
) -> dict[str, object]:
    w, c = warm.medians(), cold.medians()
    ratios: dict[str, float] = {}
    for measure_ in ("wall", "cpu"):
        wm, cm = w[measure_], c[measure_]
        ratios[f"{measure_}: warm duckpipe / plain+delta"] = wm["duckpipe"] / wm["plain+delta"]
        ratios[f"{measure_}: warm duckpipe / plain (no lake)"] = wm["duckpipe"] / wm["plain"]
        ratios[f"{measure_}: cold duckpipe / cold plain+delta"] = cm["duckpipe"] / cm["plain+delta"]
        ratios[f"{measure_}: cold duckpipe - 1.10 x cold plain+delta (s, target < 1)"] = (
            cm["duckpipe"] - 1.10 * cm["plain+delta"]
        )
        parallel = next((k for k in wm if k.startswith("duckpipe x")), None)
        if parallel:
            ratios[f"{measure_}: warm {parallel} / duckpipe"] = wm[parallel] / wm["duckpipe"]
        if "dbt-duckdb" in cm:
            ratios[f"{measure_}: cold dbt-duckdb / cold duckpipe"] = (
                cm["dbt-duckdb"] / cm["duckpipe"]
            )
    return {
        "scale": args.scale,
        "rows": rows,
        "concurrency": args.concurrency,
        "warm": {"wall": warm.wall, "cpu": warm.cpu},
        "cold": {"wall": cold.wall, "cpu": cold.cpu},
        "median_warm": w,
        "median_cold": c,
        "startup": startup.medians(),
        "ratios": ratios,
    }


def print_report(result: dict[str, object]) -> None:
    print(f"input rows: {result['rows']}  (scale {result['scale']})")
    for title, key in (("warm (in-process)", "median_warm"), ("cold (new process)", "median_cold")):
        medians: dict[str, dict[str, float]] = result[key]  # type: ignore[assignment]
        print(f"\n{title}, median seconds:        wall     cpu")
        for name in medians["wall"]:
            print(f"  {name:<30} {medians['wall'][name]:8.2f} {medians['cpu'][name]:8.2f}")
    startup: dict[str, dict[str, float]] = result["startup"]  # type: ignore[assignment]
    print("\nstart-up, median seconds:")
    for name in startup["wall"]:
        print(f"  {name:<45} {startup['wall'][name]:6.2f} wall {startup['cpu'][name]:6.2f} cpu")
    print("\nratios:")
    for name, value in result["ratios"].items():  # type: ignore[attr-defined]
        print(f"  {name:<70} {value:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--dbt", default=None, help="path to a dbt executable with dbt-duckdb")
    parser.add_argument("--dbt-threads", type=int, default=1)
    parser.add_argument("--workdir", default=None, help="keep data and projects here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)


if __name__ == "__main__":
    main()
