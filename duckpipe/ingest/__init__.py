"""Batch ingestion: plan a source's extract range, then extract, validate and land it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from duckpipe.ingest.land import land_source, plan_source

if TYPE_CHECKING:
    pass

__all__ = ["land_source", "plan_source"]
