"""What a stream's SodaCL gate costs per micro-batch: the same stream with and without checks.

One real broker (the test service), one topic of ``--messages`` JSON messages over two
partitions, one project with two streams of it: ``plain`` (its table has no checks) and
``gated`` (its table has ``--checks`` of the four below, all passing). Each round runs
both with ``--once`` into fresh Delta tables, in one process, alternating which goes
first; soda-core is imported by a warm-up run before the first round, so the rounds
measure the per-batch scans only (the import, about 0.3-0.8 s, is paid once per
process when the stream opens).

    python benchmarks/streaming/bench_gate.py [--messages 200000] [--max-records 10000] [--json]

Measured on the shared 2-core machine (load average 5-6), four checks: 200,000 messages
in 20 batches of 10,000, 1.00 s without checks against 1.23 s with them (1.23x, 11.5 ms
per batch); 50,000 messages in 50 batches of 1,000, 2.38 s against 2.89 s (1.21x, 10.2 ms
per batch).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from duckpipe.core.console import NullConsole  # noqa: E402
from duckpipe.project import load_project  # noqa: E402
from duckpipe.streaming import StreamOptions, run_stream  # noqa: E402
from tests.services.kafka import KafkaService  # noqa: E402

CHECKS = (
    "  - missing_count(user) = 0\n",
    "  - invalid_count(amount) = 0:\n      valid min: 0\n",
    "  - max(amount) < 1000\n",
    "  - duplicate_count(id) = 0\n",
)


def fill(bootstrap: str, topic: str, count: int) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 1_000_000})
    for i in range(count):
        value = {"id": i, "user": f"user-{i % 1000}", "amount": i % 500 / 10}
        while True:
            try:
                producer.produce(topic, json.dumps(value).encode(), partition=i % 2)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(60)


def project(root: Path, bootstrap: str, topic: str, max_records: int, checks: int) -> Path:
    if root.exists():
        shutil.rmtree(root)
    (root / "checks").mkdir(parents=True)
    streams = "".join(
        f"""
  {name}:
    source: clicks
    table: clicks_{name}
    max_records: {max_records}
    max_interval: 5s
"""
        for name in ("plain", "gated")
    )
    (root / "duckpipe.yml").write_text(
        f"""
name: bench-gate
format: delta
sources:
  clicks:
    uri: kafka://{bootstrap}
    topics: [{topic}]
    group_id: bench-{root.name}
streams:{streams}"""
    )
    (root / "checks" / "clicks.yml").write_text(
        "checks for clicks_gated:\n" + "".join(CHECKS[:checks])
    )
    return root


def timed(root: Path, name: str) -> tuple[float, int]:
    started = time.perf_counter()
    report = run_stream(load_project(root), name, StreamOptions(once=True), console=NullConsole())
    return time.perf_counter() - started, report.batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--max-records", type=int, default=10_000)
    parser.add_argument("--checks", type=int, default=len(CHECKS), choices=range(1, 5))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with KafkaService.launch() as kafka, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fill(kafka.bootstrap, "warm", 1000)
        warm = project(work / "warm", kafka.bootstrap, "warm", args.max_records, args.checks)
        timed(warm, "gated")  # imports soda-core, DuckDB, deltalake once
        fill(kafka.bootstrap, "clicks", args.messages)
        seconds: dict[str, list[float]] = {"plain": [], "gated": []}
        batches = 0
        for n in range(args.rounds):
            root = project(
                work / f"round{n}", kafka.bootstrap, "clicks", args.max_records, args.checks
            )
            for name in ("plain", "gated") if n % 2 == 0 else ("gated", "plain"):
                elapsed, batches = timed(root, name)
                seconds[name].append(elapsed)

    plain, gated = (statistics.median(seconds[k]) for k in ("plain", "gated"))
    result = {
        "messages": args.messages,
        "max_records": args.max_records,
        "checks": args.checks,
        "batches": batches,
        "rounds": args.rounds,
        "plain_seconds": round(plain, 3),
        "gated_seconds": round(gated, 3),
        "ratio": round(gated / plain, 3),
        "ms_per_batch": round((gated - plain) / max(batches, 1) * 1000, 1),
        "all_seconds": {k: [round(s, 3) for s in v] for k, v in seconds.items()},
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{args.messages:,} messages, {batches} batches of up to {args.max_records:,}, "
        f"{args.checks} checks, median of {args.rounds} rounds"
    )
    print(f"  without checks  {plain:7.3f} s  {args.messages / plain:>10,.0f} msg/s")
    print(f"  with checks     {gated:7.3f} s  {args.messages / gated:>10,.0f} msg/s")
    print(f"  ratio {gated / plain:.2f}x; gate {result['ms_per_batch']} ms per batch")


if __name__ == "__main__":
    main()
