"""What a derived topic (``topic:``) costs: message encoding alone, and a stream end to end.

1. **encoding**: ``messages.encode`` over an Arrow table of ``--rows`` output rows
   (int, text, exact decimal, tz-aware timestamp, double, and the source record's
   position, which becomes headers), side by side with the per-row baseline it
   replaced (``to_pylist`` + ``json.dumps`` for each row).
2. **end to end**: one real broker (the test service), one topic of ``--messages``
   JSON messages over two partitions, and two streams of it with the same ``sql:``,
   run with ``--once`` into fresh Delta tables in one process, alternating which goes
   first: ``plain`` (lake only) and ``derived`` (also publishes every output row to a
   topic, one Kafka transaction per micro-batch).

    python benchmarks/streaming/bench_topic.py [--rows 200000] [--messages 200000] [--json]

Measured on the shared 2-core machine (load average 0.5-3), 100,000 rows for the
encoding, 200,000 messages in batches of 10,000 end to end, confluent-kafka:

- encoding: per row 67,490 msg/s, vectorised 540,387 msg/s (8.0x);
- end to end: lake only 262,056 msg/s, lake + topic 60,619 msg/s (0.23 of it).
  With the per-row encoding the same run gave 54,522 msg/s encoding and 36,716 msg/s
  lake + topic (0.15 of 251,311 lake only). Most of what is left is handing each
  message to the producer (one Python call per message) and the transaction commit.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gate import fill  # noqa: E402

from duckpipe.core.console import NullConsole  # noqa: E402
from duckpipe.project import load_project  # noqa: E402
from duckpipe.streaming import StreamOptions, run_stream  # noqa: E402
from duckpipe.streaming.messages import encode  # noqa: E402
from tests.services.kafka import KafkaService  # noqa: E402

SQL = (
    "select id, user, cast(amount as decimal(10, 2)) as amount, "
    "make_timestamp(id * 1000)::timestamptz as at, amount / 7 as share, "
    "_topic, _partition, _offset from batch"
)


def output_rows(count: int) -> Any:
    """Output rows as a stream's ``sql:`` above gives them."""
    import duckdb

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con.sql(
        f"select i as id, 'user-' || (i % 1000) as user, "
        f"cast((i % 500) / 10 as decimal(10, 2)) as amount, "
        f"make_timestamp(1_700_000_000_000_000 + i * 1000)::timestamptz as at, "
        f"(i % 500) / 70 as share, 'clicks' as _topic, (i % 2)::INTEGER as _partition, "
        f"i // 2 as _offset from range({count}) t(i)"
    ).to_arrow_table()


def per_row_baseline(rows: Any, key: list[str]) -> list[tuple[bytes, bytes, list]]:
    """Row by row in Python: the encoding before it was vectorised (same output here)."""
    from datetime import UTC, datetime
    from decimal import Decimal

    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if isinstance(v, Decimal):
            return str(v)
        raise TypeError(type(v).__name__)

    def dumps(obj: dict) -> bytes:
        return json.dumps(obj, default=plain, separators=(",", ":"), ensure_ascii=False).encode()

    values = [c for c in rows.column_names if not c.startswith("_")]
    out = []
    for row in rows.to_pylist():
        headers = [("duckpipe.stream", b"s")]
        headers += [(f"duckpipe.{c[1:]}", str(row[c]).encode()) for c in ("_topic", "_partition")]
        headers.append(("duckpipe.offset", str(row["_offset"]).encode()))
        out.append((dumps({k: row[k] for k in key}), dumps({c: row[c] for c in values}), headers))
    return out


def best_rate(run: Any, count: int, repeat: int) -> float:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return count / min(seconds)


def bench_encoding(rows: int, repeat: int) -> dict[str, float]:
    table = output_rows(rows)
    fast = encode(table, key=["user"], sql=None, stream="s")
    slow = per_row_baseline(table, ["user"])
    assert [(m.key, m.value, list(m.headers)) for m in fast] == slow, "the two encodings differ"
    return {
        "per_row": best_rate(lambda: per_row_baseline(table, ["user"]), rows, repeat),
        "vectorised": best_rate(lambda: encode(table, key=["user"], sql=None), rows, repeat),
    }


def project(root: Path, bootstrap: str, topic: str, derived: str, max_records: int) -> Path:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    streams = "".join(
        f"""
  {name}:
    source: clicks
    table: clicks_{name}
    max_records: {max_records}
    max_interval: 5s
    key: [user]
    sql: "{SQL}"{extra}
"""
        for name, extra in (("plain", ""), ("derived", f"\n    topic: {derived}"))
    )
    (root / "duckpipe.yml").write_text(
        f"""
name: bench-topic
format: delta
sources:
  clicks:
    uri: kafka://{bootstrap}
    topics: [{topic}]
    group_id: bench-{root.name}
streams:{streams}"""
    )
    return root


def timed(root: Path, name: str) -> float:
    started = time.perf_counter()
    run_stream(load_project(root), name, StreamOptions(once=True), console=NullConsole())
    return time.perf_counter() - started


def bench_end_to_end(messages: int, max_records: int, rounds: int) -> dict[str, list[float]]:
    from confluent_kafka.admin import AdminClient, NewTopic

    seconds: dict[str, list[float]] = {"plain": [], "derived": []}
    with KafkaService.launch() as kafka, tempfile.TemporaryDirectory() as tmp:
        boot, work = kafka.bootstrap, Path(tmp)
        admin = AdminClient({"bootstrap.servers": boot})
        outputs = ["warm-out", *(f"out-{n}" for n in range(rounds))]
        for future in admin.create_topics([NewTopic(t, 2, 1) for t in outputs]).values():
            future.result(30)
        fill(boot, "warm", 1000)
        warm = project(work / "warm", boot, "warm", "warm-out", max_records)
        timed(warm, "derived")  # imports DuckDB, deltalake and the Kafka clients once
        fill(boot, "clicks", messages)
        for n in range(rounds):
            root = project(work / f"round{n}", boot, "clicks", f"out-{n}", max_records)
            for name in ("plain", "derived") if n % 2 == 0 else ("derived", "plain"):
                seconds[name].append(timed(root, name))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--max-records", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    encoding = bench_encoding(args.rows, args.rounds)
    seconds = bench_end_to_end(args.messages, args.max_records, args.rounds)
    plain, derived = (statistics.median(seconds[k]) for k in ("plain", "derived"))
    result = {
        "rows": args.rows,
        "encode_per_row_msg_s": round(encoding["per_row"]),
        "encode_vectorised_msg_s": round(encoding["vectorised"]),
        "encode_speedup": round(encoding["vectorised"] / encoding["per_row"], 2),
        "messages": args.messages,
        "max_records": args.max_records,
        "plain_msg_s": round(args.messages / plain),
        "derived_msg_s": round(args.messages / derived),
        "derived_over_plain": round(plain / derived, 3),
        "all_seconds": {k: [round(s, 3) for s in v] for k, v in seconds.items()},
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"encoding {args.rows:,} rows (best of {args.rounds})")
    print(f"  per row (json.dumps)  {result['encode_per_row_msg_s']:>10,} msg/s")
    print(f"  vectorised (DuckDB)   {result['encode_vectorised_msg_s']:>10,} msg/s")
    print(f"  speed-up {result['encode_speedup']}x")
    print(
        f"end to end, {args.messages:,} messages in batches of up to {args.max_records:,}, "
        f"median of {args.rounds} rounds"
    )
    print(f"  lake only        {plain:7.3f} s  {result['plain_msg_s']:>10,} msg/s")
    print(f"  lake + topic     {derived:7.3f} s  {result['derived_msg_s']:>10,} msg/s")
    print(f"  with topic / without {result['derived_over_plain']:.2f}")


if __name__ == "__main__":
    main()
