"""Kafka -> committed Delta table: end-to-end rate against each client's raw consume rate.

One real broker (the test service: Apache Kafka, KRaft, on loopback) and one topic of
``--messages`` JSON messages (~110 bytes) over ``--partitions`` partitions. One after
another:

- ``standalone raw``: each client library's own consume loop, touching every value, in a
  fresh Python process that imports only that library (``raw_loop.py``), timed there from
  the first message to the last: what a user gets from the library alone. The target's
  baseline;
- ``in-process raw``: the same loop inside this process (DuckDB, Arrow and deltalake
  imported, so the cyclic garbage collector has far more to scan); for confluent-kafka
  also with the collector paused, as duckpipe's poll pauses it;
- ``backend poll``: duckpipe's backend for that library (polled records -> Arrow);
- ``end-to-end``: ``duckpipe stream --once`` into a Delta table (decode JSON, contract,
  commit each micro-batch with its offsets), timed from start to the last commit.

Then the latency run: a live stream with a one-second batch interval while messages
are produced at ``--rate`` per second; each message's produce-to-visible latency is the
time from its send to the lake commit whose position covers its offset.

    python benchmarks/streaming/bench_stream.py [--messages 500000] [--partitions 2] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from duckpipe.core.console import NullConsole  # noqa: E402
from duckpipe.kafka.backends import open_consumer  # noqa: E402
from duckpipe.kafka.positions import BEGINNING  # noqa: E402
from duckpipe.kafka.settings import KafkaSettings  # noqa: E402
from duckpipe.project import load_project  # noqa: E402
from duckpipe.streaming import StreamOptions, StreamRunner  # noqa: E402
from duckpipe.streaming.pipeline import StreamPipeline  # noqa: E402
from tests.services.kafka import KafkaService  # noqa: E402

CLIENTS = ["confluent-kafka", "kafka-python"]


def message(i: int) -> bytes:
    return json.dumps(
        {
            "id": i,
            "user": f"user-{i % 1000}",
            "page": f"/p/{i % 97}",
            "amount": i % 500 / 10,
            "ts": 1_700_000_000_000 + i,
        }
    ).encode()


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)


def fill(bootstrap: str, topic: str, count: int, partitions: int) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 1_000_000})
    for i in range(count):
        while True:
            try:
                producer.produce(topic, message(i), partition=i % partitions)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(60)


def raw_consume(
    client: str, bootstrap: str, topic: str, count: int, partitions: int, gc_paused: bool = False
) -> float:
    """Seconds for the library's own loop to receive ``count`` messages (connecting included).

    ``gc_paused``: Python's cyclic garbage collector is off during the loop, as it is
    inside duckpipe's confluent-kafka poll (reported for comparison only).
    """
    if gc_paused:
        gc.disable()
        try:
            return raw_consume(client, bootstrap, topic, count, partitions)
        finally:
            gc.enable()
    started = time.perf_counter()
    seen = 0
    if client == "confluent-kafka":
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"raw-{time.time()}",
                "enable.auto.commit": False,
                "queued.min.messages": 1_000_000,  # the library at its best: a deep prefetch
                "fetch.queue.backoff.ms": 20,  # refilled as soon as there is room (as in duckpipe)
            }
        )
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        while seen < count:
            for m in consumer.consume(10_000, 1.0):
                if m.error() is None and m.value() is not None:
                    seen += 1
        consumer.close()
    else:
        from kafka import KafkaConsumer
        from kafka import TopicPartition as KTP

        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            max_poll_records=10_000,
            max_partition_fetch_bytes=10 * 1024 * 1024,
        )
        consumer.assign([KTP(topic, p) for p in range(partitions)])
        consumer.seek_to_beginning()
        while seen < count:
            for records in consumer.poll(1000, max_records=10_000).values():
                seen += sum(1 for r in records if r.value is not None)
        consumer.close()
    return time.perf_counter() - started


def standalone(client: str, bootstrap: str, topic: str, count: int, partitions: int) -> float:
    """Messages/s of the library's plain loop in a fresh Python process that imports only
    that library (``raw_loop.py``), timed there from the first message to the last."""
    script = Path(__file__).with_name("raw_loop.py")
    args = [sys.executable, str(script), client, bootstrap, topic, str(count), str(partitions)]
    out = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    return float(out["first_to_last_messages"] / out["first_to_last_s"])


def backend_poll(client: str, bootstrap: str, topic: str, count: int) -> float:
    started = time.perf_counter()
    consumer = open_consumer(
        KafkaSettings(bootstrap=bootstrap, topics=(topic,), group_id=f"b-{time.time()}"), client
    )
    consumer.assign({tp: BEGINNING for tp in consumer.partitions()})
    seen = 0
    while seen < count:
        chunk = consumer.poll(10_000, 1.0)
        seen += chunk.num_rows if chunk is not None else 0
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def project(
    root: Path, bootstrap: str, topic: str, client: str, max_interval: float, max_records: int
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "duckpipe.yml").write_text(
        f"""
name: bench
sources:
  events:
    uri: kafka://{bootstrap}
    topics: [{topic}]
    group_id: bench-{time.time_ns()}
    client: {client}
streams:
  raw:
    source: events
    table: events
    max_records: {max_records}
    max_interval: {max_interval}
"""
    )
    return root


class _Clock(NullConsole):
    """Notes when the stream got its partitions (the group join is done) and when its
    first micro-batch was polled (and how many records it held)."""

    assigned: float | None = None
    first_batch: float | None = None
    first_records = 0

    def event(self, kind: str, /, **fields: Any) -> None:
        if kind == "stream_assigned" and self.assigned is None:
            self.assigned = time.perf_counter()
        if kind == "stream_batch" and self.first_batch is None and fields["records"]:
            self.first_batch, self.first_records = time.perf_counter(), fields["records"]


class Stream(NamedTuple):
    seconds: float  # start -> last commit
    after_join: float  # assignment (consumer group joined) -> last commit
    after_first_batch: float  # first micro-batch polled -> last commit
    first_records: int  # records of that first micro-batch (not counted after it)
    rows: int
    commits: int


def end_to_end(root: Path) -> Stream:
    """``duckpipe stream --once`` into Delta: seconds from start, from the group join and
    from the first polled micro-batch to the last commit; rows landed; commits."""
    started = time.perf_counter()
    proj = load_project(root)
    clock = _Clock()
    runner = StreamRunner(
        StreamPipeline(proj, "raw", proj.config.streams["raw"]), StreamOptions(once=True), clock
    )
    report = runner.run()
    finished = time.perf_counter()
    rows = proj.open_lake().dataset("events").count_rows()
    return Stream(
        finished - started,
        finished - (clock.assigned or started),
        finished - (clock.first_batch or started),
        clock.first_records,
        rows,
        report.commits,
    )


def best(repeat: int, measure: Any) -> float:
    return float(min(measure() for _ in range(repeat)))


def latency(
    root: Path, bootstrap: str, topic: str, partitions: int, rate: int, seconds: float
) -> list[float]:
    """Produce at ``rate``/s into a live stream (1 s batches); seconds from send to visible."""
    from confluent_kafka import Producer

    proj = load_project(root)
    runner = StreamRunner(
        StreamPipeline(proj, "raw", proj.config.streams["raw"]), StreamOptions(), NullConsole()
    )
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    time.sleep(8)  # join the group, drain nothing
    sent: dict[tuple[int, int], float] = {}
    visible: dict[tuple[int, int], float] = {}
    lock = threading.Lock()

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    send_times: dict[int, float] = {}
    stop = threading.Event()

    def watch() -> None:
        lake = proj.open_lake()
        while not stop.is_set():
            position = lake.read_position("events", "stream:raw") if lake.exists("events") else None
            now = time.perf_counter()
            if position is not None:
                for part, offset in position.value["offsets"][topic].items():
                    with lock:
                        for key in [
                            k
                            for k in sent
                            if k[0] == int(part) and k[1] < offset and k not in visible
                        ]:
                            visible[key] = now
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    total = int(rate * seconds)
    started = time.perf_counter()
    for i in range(total):
        target = started + i / rate
        while time.perf_counter() < target:
            producer.poll(0)
        send_times[i] = time.perf_counter()
        index = i

        def callback(err: Any, msg: Any, index: int = index) -> None:
            if err is None:
                with lock:
                    sent[(msg.partition(), msg.offset())] = send_times[index]

        producer.produce(
            topic, message(10_000_000 + i), partition=i % partitions, on_delivery=callback
        )
    producer.flush(30)
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        with lock:
            if len(visible) >= total:
                break
        time.sleep(0.1)
    stop.set()
    runner.stop()
    thread.join(30)
    with lock:
        return sorted(visible[k] - sent[k] for k in visible)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--max-records", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=2_000, help="messages/s in the latency run")
    parser.add_argument("--seconds", type=float, default=10, help="length of the latency run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (best is kept)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"messages": args.messages, "partitions": args.partitions}
    work = Path(tempfile.mkdtemp(prefix="duckpipe-bench-stream-"))
    with KafkaService.launch() as kafka:
        topic = "bench"
        create_topic(kafka.bootstrap, topic, args.partitions)
        fill(kafka.bootstrap, topic, args.messages, args.partitions)
        create_topic(kafka.bootstrap, "warm-up", args.partitions)
        fill(kafka.bootstrap, "warm-up", 10_000, args.partitions)
        for client in CLIENTS:  # imports and first connections are not measured
            end_to_end(
                project(work / f"warm-{client}", kafka.bootstrap, "warm-up", client, 1.0, 5000)
            )
        for client in CLIENTS:
            alone = max(
                standalone(client, kafka.bootstrap, topic, args.messages, args.partitions)
                for _ in range(args.repeat)
            )
            raw = best(
                args.repeat,
                lambda c=client: raw_consume(
                    c, kafka.bootstrap, topic, args.messages, args.partitions
                ),
            )
            paused = None
            if client == "confluent-kafka":  # the loop with duckpipe's poll trick, for comparison
                paused = best(
                    args.repeat,
                    lambda c=client: raw_consume(
                        c, kafka.bootstrap, topic, args.messages, args.partitions, gc_paused=True
                    ),
                )
            poll = best(
                args.repeat, lambda c=client: backend_poll(c, kafka.bootstrap, topic, args.messages)
            )
            runs = [
                end_to_end(
                    project(
                        work / f"{client}-{i}",
                        kafka.bootstrap,
                        topic,
                        client,
                        1.0,
                        args.max_records,
                    )
                )
                for i in range(args.repeat)
            ]
            run = min(runs)
            rows = run.rows
            assert rows == args.messages, f"{client}: {rows} rows landed, expected {args.messages}"
            e2e, joined, commits = run.seconds, run.after_join, run.commits
            span = min(runs, key=lambda r: r.after_first_batch / (args.messages - r.first_records))
            results[client] = {
                "standalone_raw_per_s": alone,
                "raw_consume_per_s": args.messages / raw,
                "raw_consume_gc_paused_per_s": args.messages / paused if paused else None,
                "backend_poll_per_s": args.messages / poll,
                "end_to_end_per_s": args.messages / e2e,
                "end_to_end_after_join_per_s": args.messages / joined,
                # as the standalone loop is timed: from the first records polled to the end,
                # those first records not counted
                "end_to_end_after_first_batch_per_s": (args.messages - span.first_records)
                / span.after_first_batch,
                "end_to_end_seconds": e2e,
                "group_join_seconds": e2e - joined,
                "commits": commits,
            }
        confluent = results["confluent-kafka"]
        confluent["end_to_end_x_raw_gc_paused"] = (
            confluent["end_to_end_per_s"] / confluent["raw_consume_gc_paused_per_s"]
        )
        fastest = max(results[c]["raw_consume_per_s"] for c in CLIENTS)
        fastest_alone = max(results[c]["standalone_raw_per_s"] for c in CLIENTS)
        for client in CLIENTS:
            results[client]["end_to_end_x_standalone_raw"] = (
                results[client]["end_to_end_per_s"] / fastest_alone
            )
            results[client]["first_batch_on_x_standalone_raw"] = (
                results[client]["end_to_end_after_first_batch_per_s"] / fastest_alone
            )
            results[client]["after_join_x_fastest_raw"] = (
                results[client]["end_to_end_after_join_per_s"] / fastest
            )
            results[client]["end_to_end_x_fastest_raw"] = (
                results[client]["end_to_end_per_s"] / fastest
            )
        lat_topic = "latency"
        create_topic(kafka.bootstrap, lat_topic, args.partitions)
        root = project(work / "latency", kafka.bootstrap, lat_topic, "auto", 1.0, args.max_records)
        waits = latency(root, kafka.bootstrap, lat_topic, args.partitions, args.rate, args.seconds)
        results["latency"] = {
            "rate_per_s": args.rate,
            "measured": len(waits),
            "p50_s": statistics.quantiles(waits, n=100)[49],
            "p99_s": statistics.quantiles(waits, n=100)[98],
            "max_s": waits[-1],
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{args.messages:,} messages, {args.partitions} partitions, Delta sink, 2 cores")
    print(
        f"{'client':<16} {'standalone raw/s':>16} {'in-process raw/s':>16} {'backend poll/s':>15} "
        f"{'end-to-end/s':>13} {'x standalone':>12} {'x in-process':>12} {'after join/s':>13} "
        f"{'1st batch on/s':>14} {'x standalone':>12}"
    )
    for client in CLIENTS:
        r = results[client]
        print(
            f"{client:<16} {r['standalone_raw_per_s']:>16,.0f} {r['raw_consume_per_s']:>16,.0f} "
            f"{r['backend_poll_per_s']:>15,.0f} {r['end_to_end_per_s']:>13,.0f} "
            f"{r['end_to_end_x_standalone_raw']:>12.2f} {r['end_to_end_x_fastest_raw']:>12.2f} "
            f"{r['end_to_end_after_join_per_s']:>13,.0f} "
            f"{r['end_to_end_after_first_batch_per_s']:>14,.0f} "
            f"{r['first_batch_on_x_standalone_raw']:>12.2f}"
        )
    print("x standalone / x in-process: end-to-end over the fastest client's raw loop")
    print(
        "1st batch on: from the first micro-batch polled to the last commit, its records not "
        "counted (the standalone loop's timing: first records received to the last)"
    )
    confluent = results["confluent-kafka"]
    print(
        "confluent-kafka raw consume with the garbage collector paused: "
        f"{confluent['raw_consume_gc_paused_per_s']:,.0f}/s; "
        f"end-to-end / that: {confluent['end_to_end_x_raw_gc_paused']:.2f}"
    )
    lat = results["latency"]
    print(
        f"produce-to-visible at {lat['rate_per_s']:,}/s, 1 s batches: p50 {lat['p50_s']:.2f}s, "
        f"p99 {lat['p99_s']:.2f}s, max {lat['max_s']:.2f}s ({lat['measured']:,} messages)"
    )


if __name__ == "__main__":
    main()
