"""SQL models executed in DuckDB, in dependency order."""

from duckpipe.transform.build import build_model, load_seed
from duckpipe.transform.graph import plan_models

__all__ = ["build_model", "load_seed", "plan_models"]
