"""Batch ingestion: plan a source's extract range, then extract, validate and land it.

Modules, one concept each: ``retry`` (backoff on transient failures), ``coerce``
and ``contracts`` (what a row must satisfy), ``dlq`` (where rejected rows go), ``metadata`` (the ``_extracted_at``,
``_source``, ``_run_id`` columns), ``lake_types`` (types every lake format stores),
``stream`` (the per-batch pipeline and the staging spool), ``land`` (one landing,
committed with its position), ``replay`` (re-ingesting dead letters) and ``api``
(``BatchDataIngester``).
"""

from __future__ import annotations

from duckpipe.ingest.land import land_source, plan_source

__all__ = ["land_source", "plan_source"]
