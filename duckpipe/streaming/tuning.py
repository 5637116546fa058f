"""Process settings for a long-running stream that shares few cores between many threads.

A stream runs the poll loop, librdkafka's fetch threads, Arrow's JSON reader, delta-rs'
Parquet writer and DuckDB at the same time. Two settings cut the CPU per message
(benchmarks/streaming/README.md, "What changed to get here"):

- DuckDB gets half the cores (at least one thread): its work per batch is small, and
  with a worker per core its threads compete with the others for the same cores;
- glibc's heap keeps 64 MiB of padding and returns freed memory to the kernel only
  above 256 MiB: without that, each batch's buffers (tens of MB of librdkafka messages
  and Arrow columns) are handed back after the batch and zero-filled again by the
  kernel for the next one.
"""

from __future__ import annotations

import os

TOP_PAD = 64 * 1024 * 1024
TRIM_THRESHOLD = 256 * 1024 * 1024
_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_TOP_PAD = -2


def duckdb_threads() -> int:
    """DuckDB's thread count inside a stream: half the cores, at least one."""
    return max(1, (os.cpu_count() or 2) // 2)


def keep_heap() -> bool:
    """Tell glibc's allocator to keep freed heap memory for the next batch (process-wide).

    Returns False where the C library has no ``mallopt`` (not glibc): nothing changes there.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_TOP_PAD, TOP_PAD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
