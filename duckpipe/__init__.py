"""duckpipe: an embedded data pipeline engine centred on DuckDB.

Sources land as Arrow record batches, transforms are SQL files executed in
DuckDB, quality checks run as SodaCL, and results are written to Delta Lake or
Apache Iceberg. The public API is imported lazily so that ``import duckpipe``
(and the CLI) start fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_API: dict[str, str] = {
    "Engine": "duckpipe.engine",
    "DuckpipeError": "duckpipe.core.errors",
    "ProjectConfig": "duckpipe.config",
    "load_config": "duckpipe.config",
    "Project": "duckpipe.project",
    "load_project": "duckpipe.project",
    "Plan": "duckpipe.plan",
    "RunOptions": "duckpipe.plan",
    "run_project": "duckpipe.runner",
    "make_plan": "duckpipe.runner",
    "check_project": "duckpipe.check",
    "open_query_engine": "duckpipe.query",
    "replay_dead_letters": "duckpipe.dlq",
    "open_sink": "duckpipe.sinks",
    "Position": "duckpipe.sinks.base",
    "MergeSpec": "duckpipe.sinks.base",
    "compile_project": "duckpipe.transform.compile",
    "Lineage": "duckpipe.transform.lineage",
    "DeltaLakeManager": "duckpipe.sinks.managers",
    "IcebergTableManager": "duckpipe.sinks.managers",
    "BatchDataIngester": "duckpipe.ingest.api",
    "DataQualityFramework": "duckpipe.quality.framework",
    "analyze_lake": "duckpipe.advisor",
    "run_stream": "duckpipe.streaming",
    "StreamOptions": "duckpipe.streaming",
}


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'duckpipe' has no attribute '{name}'")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*_API, "__version__"])


__all__ = sorted(_API)
