"""Kafka -> Arrow micro-batches -> DuckDB SQL / windows -> Delta or Iceberg, exactly once."""

from __future__ import annotations

from duckpipe.streaming.runner import StreamOptions, StreamReport, StreamRunner, run_stream

__all__ = ["StreamOptions", "StreamReport", "StreamRunner", "run_stream"]
