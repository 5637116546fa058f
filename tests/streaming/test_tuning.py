"""The stream's process settings: DuckDB's thread count and glibc's heap trimming."""

from __future__ import annotations

import os
import platform

from duckpipe.streaming.messages import _connection
from duckpipe.streaming.tuning import duckdb_threads, keep_heap


def test_duckdb_gets_half_the_cores() -> None:
    assert duckdb_threads() == max(1, (os.cpu_count() or 2) // 2)
    con = _connection()
    try:
        assert con.execute("select current_setting('threads')").fetchall() == [(duckdb_threads(),)]
    finally:
        con.close()


def test_heap_settings_apply_on_glibc() -> None:
    assert keep_heap() is (platform.libc_ver()[0] == "glibc")
