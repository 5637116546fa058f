"""Kafka -> Arrow micro-batches -> DuckDB SQL / windows -> Delta or Iceberg, exactly once.

A derived topic (``topic: NAME`` on a stream) gets every output row as well, as a
JSON message keyed by the stream's ``key`` (plus ``window_start`` for windows; set
``topic_key`` to choose other columns, ``[]`` for none). Each micro-batch's messages,
its DLQ-topic rejects and the consumer offsets commit in one Kafka transaction before
the lake commit, so after a crash nothing is published twice (``topics.py`` explains
how); read the topic with ``isolation.level=read_committed``. Encoding and headers:
``messages.py``.
"""

from __future__ import annotations

from duckpipe.streaming.runner import StreamOptions, StreamReport, StreamRunner, run_stream

__all__ = ["StreamOptions", "StreamReport", "StreamRunner", "run_stream"]
