"""An in-memory source (``memory://name``): Arrow tables published by a process, for tests
and for feeding a pipeline from Python. Incremental by watermark column like PostgreSQL.

>>> import pyarrow as pa
>>> MemorySource.publish("memory://demo", pa.table({"id": [1, 2]}))
>>> from duckpipe.config import SourceConfig
>>> src = MemorySource("demo", SourceConfig(uri="memory://demo"))
>>> src.extract(src.plan(None)).reader.read_all().num_rows
2
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from duckpipe.core.errors import SourceError, did_you_mean
from duckpipe.sources.base import Extraction, ExtractRange
from duckpipe.sources.watermarks import MaxTracker, Watermark, kind_of, parse_lookback

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import SourceConfig


class MemorySource:
    """Reads the table published under its ``uri``; the position is the watermark's max."""

    tables: ClassVar[dict[str, pa.Table]] = {}

    def __init__(self, name: str, cfg: SourceConfig) -> None:
        self.name = name
        self.cfg = cfg
        self.lookback = parse_lookback(cfg.lookback, where=f"sources.{name}.lookback")

    @classmethod
    def publish(cls, uri: str, table: pa.Table) -> None:
        """Make ``table`` the current contents of ``uri``."""
        cls.tables[uri] = table

    def plan(self, position: dict[str, Any] | None, *, full_refresh: bool = False) -> ExtractRange:
        last = None if full_refresh else Watermark.from_position(position)
        if last is None or last.column != self.cfg.watermark_column:
            return ExtractRange(self.name, None, "full load", full_refresh, {"bound": None})
        bound = last.lower_bound(self.lookback)
        return ExtractRange(
            self.name,
            last.to_position(),
            f"{last.column} > {bound}",
            details={"bound": bound, "watermark": last.to_position()},
        )

    def extract(self, extract_range: ExtractRange) -> Extraction:
        import pyarrow as pa
        import pyarrow.compute as pc

        table = self.tables.get(self.cfg.uri)
        if table is None:
            raise SourceError(
                f"nothing is published at {self.cfg.uri}",
                where=f"sources.{self.name}.uri",
                hint=did_you_mean(self.cfg.uri, self.tables) or "MemorySource.publish(uri, table)",
            )
        column = self.cfg.watermark_column
        bound = extract_range.details.get("bound")
        if column and bound is not None:
            table = table.filter(pc.greater(table.column(column), pa.scalar(bound)))
        tracker = MaxTracker(column) if column else None
        batches = table.to_batches(max_chunksize=self.cfg.batch_size)
        if tracker is not None:
            tracker.kind = kind_of(table.schema.field(column).type)
            for batch in batches:
                tracker.update(batch)
        start = Watermark.from_position(extract_range.details.get("watermark"))

        def next_position() -> dict[str, Any]:
            if tracker is None or (tracker.value is None and start is None):
                return {}
            base = start or Watermark(tracker.column, tracker.kind or "string", None)
            return base.advanced(tracker.value).to_position()

        return Extraction(pa.RecordBatchReader.from_batches(table.schema, batches), next_position)
