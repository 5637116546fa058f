"""How long SodaCL checks add to a run of the reference project (sql/), side by side.

Each round copies sql/ to a fresh directory and runs it once with its checks and once
with --skip-checks (alternating which goes first), in one process; a cold round runs
`duckpipe run` as a new process each way, so soda-core's import is counted too.

    python benchmarks/checks/bench_checks.py [--rounds 5] [--cold 3] [--scale 1] [--json]

--scale K makes the orders and payments K times larger (ids shifted per copy).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "sql"


def fresh_project(workdir: Path, name: str, scale: int) -> Path:
    """A copy of the reference project without its lake or history."""
    root = workdir / name
    shutil.copytree(REFERENCE, root, ignore=shutil.ignore_patterns("lake", ".duckpipe", "*.py"))
    if scale > 1:
        _scale_csv(root / "data" / "orders.csv", scale, ("order_id",))
        _scale_csv(root / "data" / "payments.csv", scale, ("payment_id", "order_id"))
    return root


def _scale_csv(path: Path, scale: int, id_columns: tuple[str, ...]) -> None:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    step = max(int(r[id_columns[0]]) for r in rows)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for copy in range(scale):
            for row in rows:
                shifted = {c: str(int(row[c]) + copy * step) for c in id_columns}
                writer.writerow({**row, **shifted})


def run_in_process(root: Path, *, skip_checks: bool) -> float:
    from duckpipe.plan import RunOptions
    from duckpipe.project import load_project
    from duckpipe.runner import run_project

    started = time.perf_counter()
    report = run_project(load_project(root), RunOptions(skip_checks=skip_checks))
    seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"the reference project did not run cleanly: {report.record.status}")
    checks = sum(len(s.checks) for s in report.record.steps)
    if (checks == 0) != skip_checks:
        raise SystemExit(f"expected {'no' if skip_checks else 'some'} checks, recorded {checks}")
    return seconds


def run_cold(root: Path, *, skip_checks: bool) -> float:
    command = [str(Path(sys.executable).parent / "duckpipe"), "-p", str(root), "run"]
    command += ["--skip-checks"] if skip_checks else []
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def measure(rounds: int, cold: int, scale: int) -> dict[str, object]:
    warm: dict[bool, list[float]] = {True: [], False: []}
    cold_times: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        run_in_process(fresh_project(workdir, "warmup", scale), skip_checks=False)
        for i in range(rounds):
            for skip in (i % 2 == 0, i % 2 == 1):
                root = fresh_project(workdir, f"warm-{i}-{skip}", scale)
                warm[skip].append(run_in_process(root, skip_checks=skip))
        for i in range(cold):
            for skip in (i % 2 == 0, i % 2 == 1):
                root = fresh_project(workdir, f"cold-{i}-{skip}", scale)
                cold_times[skip].append(run_cold(root, skip_checks=skip))
    result: dict[str, object] = {"rounds": rounds, "cold_rounds": cold, "scale": scale}
    for label, times in (("in_process", warm), ("cold_cli", cold_times)):
        if not times[True]:
            continue
        with_checks, without = statistics.median(times[False]), statistics.median(times[True])
        result[label] = {
            "with_checks_s": round(with_checks, 3),
            "skip_checks_s": round(without, 3),
            "added_s": round(with_checks - without, 3),
            "ratio": round(with_checks / without, 2),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.rounds, args.cold, args.scale)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"reference project x{args.scale}, medians of {args.rounds} warm / {args.cold} cold rounds"
    )
    for label in ("in_process", "cold_cli"):
        if label in result:
            r = result[label]
            assert isinstance(r, dict)
            print(
                f"  {label:<10} with checks {r['with_checks_s']:.3f}s  "
                f"--skip-checks {r['skip_checks_s']:.3f}s  "
                f"added {r['added_s'] * 1000:.0f} ms  ratio {r['ratio']:.2f}x"
            )


if __name__ == "__main__":
    main()
