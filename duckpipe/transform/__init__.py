"""SQL models executed in DuckDB, in dependency order, with dbt-compatible Jinja."""

from duckpipe.transform.build import attach_project, build_model
from duckpipe.transform.seeds import load_seed
from duckpipe.transform.steps import plan_models, selected_sources

__all__ = ["attach_project", "build_model", "load_seed", "plan_models", "selected_sources"]
