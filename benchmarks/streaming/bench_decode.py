"""JSON messages -> typed Arrow columns: the stream's fast path against other readers.

One batch of ``--messages`` JSON messages per shape (the streaming benchmark's ~86-byte
message, a nested one with structs, a list and escaped strings, a text-heavy log
line), each reader given the schema, best of ``--repeat``, CPU and wall
microseconds per message. Every result is compared with the fast path's table
(``same``: equal after casting string types to Arrow's).

- ``duckpipe fast path``: ``fastjson.read_known`` (Arrow's JSON reader, all checks);
- ``arrow read_json``: the reader alone, with and without threads, block sizes;
- ``duckdb json_transform``: unchecked (it coerces 4.5 to 4 and "5" to 5.0), and with
  the JSON kind of each field read as the checked path reads it;
- ``polars read_ndjson``, ``msgspec``: when installed (neither is a duckpipe dependency).

    python benchmarks/streaming/bench_decode.py [--messages 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pyarrow as pa
import pyarrow.json as pj

from duckpipe.config import ContractConfig
from duckpipe.kafka.fastjson import read_known


def flat(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "user": f"user-{i % 1000}",
        "page": f"/p/{i % 97}",
        "amount": i % 500 / 10,
        "ts": 1_700_000_000_000 + i,
    }


def nested(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "event": "click",
        "user": {"id": i % 1000, "name": f'Us"er é {i % 13}', "tags": ["a", "b"][: i % 3]},
        "device": {"os": "linux", "version": f"{i % 7}.{i % 3}"},
        "amount": i % 500 / 10,
        "ok": i % 2 == 0,
        "ts": 1_700_000_000_000 + i,
    }


def text(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "msg": "lorem ipsum dolor sit amet " * (1 + i % 5) + f"\\n{i}",
        "level": ["INFO", "WARN"][i % 2],
        "host": f"host-{i % 50}.example.com",
        "latency_ms": i % 1000 / 7,
        "ts": 1_700_000_000_000 + i,
    }


DUCKDB_TYPES = {"int64": "BIGINT", "double": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN"}


def duckdb_structure(dtype: pa.DataType) -> Any:
    if pa.types.is_struct(dtype):
        return {f.name: duckdb_structure(f.type) for f in dtype}
    if pa.types.is_list(dtype):
        return [duckdb_structure(dtype.value_type)]
    return DUCKDB_TYPES[str(dtype)]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    cpu = wall = float("inf")
    out = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return cpu, wall, out


def readers(values: pa.ChunkedArray, schema: pa.Schema) -> dict[str, Callable[[], Any]]:
    import duckdb

    lines = b"\n".join(values.to_pylist()) + b"\n"
    data = pa.py_buffer(lines)
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    found: dict[str, Callable[[], Any]] = {
        "duckpipe fast path": lambda: read_known(values, schema, ContractConfig())
    }
    for threads in (True, False):
        for block in (1 << 20, 16 << 20):
            read = pj.ReadOptions(use_threads=threads, block_size=block)
            found[f"arrow read_json threads={threads} block={block >> 20}MB"] = lambda read=read: (
                pj.read_json(pa.BufferReader(data), read_options=read, parse_options=options)
            )
    con = duckdb.connect()
    texts = pa.table({"v": values.combine_chunks().cast(pa.string())})
    con.register("texts", texts)
    structure = json.dumps({f.name: duckdb_structure(f.type) for f in schema})
    paths = "[" + ", ".join(f"'$.\"{f.name}\"'" for f in schema) + "]"
    transform = f"unnest(json_transform(v, '{structure}'))"
    found["duckdb json_transform (unchecked)"] = lambda: con.sql(
        f"select {transform} from texts"
    ).to_arrow_table()
    found["duckdb json_transform + kinds"] = lambda: con.sql(
        f"select {transform}, json_type(v, {paths}) as _kinds from texts"
    ).to_arrow_table()
    try:
        import polars as pl

        polars_schema = pl.from_arrow(schema.empty_table()).schema  # type: ignore[union-attr]
        found["polars read_ndjson"] = lambda: pl.read_ndjson(
            io.BytesIO(lines), schema=polars_schema
        ).to_arrow()
    except ImportError:
        pass
    try:
        import msgspec

        decoder = msgspec.json.Decoder()
        raw = values.to_pylist()
        found["msgspec -> Table.from_pylist"] = lambda: pa.Table.from_pylist(
            [decoder.decode(v) for v in raw], schema=schema
        )
    except ImportError:
        pass
    return found


def same(table: Any, expected: pa.Table) -> bool:
    table = (
        table.select(expected.column_names) if table.num_columns > len(expected.schema) else table
    )
    try:
        return bool(table.cast(expected.schema).equals(expected))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.messages
    for shape in (flat, nested, text):
        encoded = [json.dumps(shape(i)).encode() for i in range(n)]
        values = pa.chunked_array([pa.array(encoded, pa.binary())])
        schema = pj.read_json(io.BytesIO(b"\n".join(encoded[:1000]))).schema
        size = sum(map(len, encoded)) / n
        print(f"\n{shape.__name__}: {n:,} messages of {size:.0f} bytes")
        print(f"  {'reader':<44} {'CPU us/msg':>10} {'wall us/msg':>11}  same")
        expected = None
        for name, read in readers(values, schema).items():
            cpu, wall, table = timed(read, args.repeat)
            expected = table if expected is None else expected
            match = "yes" if same(table, expected) else "no"
            print(f"  {name:<44} {cpu / n * 1e6:>10.2f} {wall / n * 1e6:>11.2f}  {match}")


if __name__ == "__main__":
    main()
