"""The sources of one run, each opened once: the plan and the landing use the same object.

A run plans every batch source (its range from the stored position) and then lands
it; both go through one ``OpenedSources``, so a source is made, and whatever it sets
up (a filesystem handle, a parsed lookback), once per run, at its first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duckpipe.config import SourceConfig
    from duckpipe.sources.base import Source


class OpenedSources:
    """``name -> Source`` for one run, made by ``make_source`` when first asked for."""

    def __init__(self, root: Path | None = None, storage_options: dict[str, str] | None = None):
        self.root = root
        self.storage_options = storage_options
        self._open: dict[str, Source] = {}

    def get(self, name: str, cfg: SourceConfig) -> Source:
        """The run's source ``name`` (configured by ``cfg``), opened at the first call."""
        from duckpipe.sources import make_source

        source = self._open.get(name)
        if source is None:
            source = make_source(name, cfg, self.root, storage_options=self.storage_options)
            self._open[name] = source
        return source

    def __len__(self) -> int:
        return len(self._open)
