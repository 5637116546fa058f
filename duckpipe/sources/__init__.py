"""Sources, chosen by type or URI scheme: postgresql://, files (paths, s3:// globs), memory://, kafka://.

``watermarks`` holds a source's position (the highest watermark value landed) and lookback.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from duckpipe.config import SourceConfig
from duckpipe.core.errors import ConfigError, did_you_mean
from duckpipe.sources.base import Extraction, ExtractRange, Source

# type -> "module:Class". Each class takes (name, cfg, **context) and ignores what it does not need.
REGISTRY: dict[str, str] = {
    "postgres": "duckpipe.sources.postgres:PostgresSource",
    "files": "duckpipe.sources.files:FileSource",
    "memory": "duckpipe.sources.memory:MemorySource",
    "kafka": "duckpipe.sources.kafka:KafkaSource",
}


def make_source(
    name: str,
    cfg: SourceConfig,
    project_root: Path | None = None,
    *,
    storage_options: dict[str, str] | None = None,
) -> Source:
    """The Source implementation for ``cfg`` (its ``type`` or the scheme of its ``uri``)."""
    kind = cfg.resolved_type()
    target = REGISTRY.get(kind)
    if target is None:
        raise ConfigError(
            f"source type '{kind}' is not available",
            where=f"sources.{name}.type",
            hint=did_you_mean(kind, REGISTRY) or f"use one of: {', '.join(REGISTRY)}",
        )
    module, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    context: dict[str, Any] = {}
    if kind == "files":
        context = {"project_root": project_root or Path.cwd(), "storage_options": storage_options}
    source: Source = cls(name, cfg, **context)
    return source


__all__ = ["REGISTRY", "ExtractRange", "Extraction", "Source", "make_source"]
