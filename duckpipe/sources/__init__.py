"""Sources, chosen by URI scheme: files (paths, s3://), postgresql://, kafka://, memory://."""

from __future__ import annotations

from pathlib import Path

from duckpipe.config import SourceConfig
from duckpipe.errors import ConfigError
from duckpipe.sources.base import Extraction, ExtractRange, Source


def make_source(name: str, cfg: SourceConfig, project_root: Path) -> Source:
    """The Source implementation for ``cfg`` (its ``type`` or the scheme of its ``uri``)."""
    kind = cfg.resolved_type()
    if kind == "files":
        from duckpipe.sources.files import FileSource

        return FileSource(name, cfg, project_root)
    raise ConfigError(
        f"source type '{kind}' is not available",
        where=f"sources.{name}",
        hint="use a files source (a path or glob)",
    )


__all__ = ["ExtractRange", "Extraction", "Source", "make_source"]
