"""Files source: Parquet, CSV and JSON/NDJSON from local paths and globs."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duckpipe.errors import SourceError
from duckpipe.sources.base import Extraction, ExtractRange

if TYPE_CHECKING:
    from duckpipe.config import SourceConfig


class FileSource:
    """New files since the last run are the increment; the position is the set of files read."""

    def __init__(self, name: str, cfg: SourceConfig, project_root: Path) -> None:
        self.name = name
        self.cfg = cfg
        self.root = project_root

    def _files(self) -> list[str]:
        pattern = self.cfg.uri
        if not Path(pattern).is_absolute():
            pattern = str(self.root / pattern)
        files = sorted(glob.glob(pattern, recursive=True))
        if not files:
            raise SourceError(
                f"no files match '{self.cfg.uri}'",
                where=f"sources.{self.name}.uri",
                hint="check the path (relative paths are under the project directory)",
            )
        return files

    def plan(self, position: dict[str, Any] | None, *, full_refresh: bool = False) -> ExtractRange:
        done = set() if full_refresh or not position else set(position.get("files", []))
        files = [f for f in self._files() if self._key(f) not in done]
        return ExtractRange(
            source=self.name,
            start=None if full_refresh else position,
            description=f"{len(files)} new file(s)",
            full_refresh=full_refresh,
            details={"files": files, "done": sorted(done)},
        )

    def _key(self, path: str) -> str:
        try:
            return str(Path(path).relative_to(self.root))
        except ValueError:
            return path

    def extract(self, extract_range: ExtractRange) -> Extraction:
        import pyarrow as pa

        files: list[str] = extract_range.details["files"]
        tables = [self._read(f) for f in files]
        table = pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})
        done = extract_range.details["done"] + [self._key(f) for f in files]
        return Extraction(
            reader=pa.RecordBatchReader.from_batches(table.schema, table.to_batches()),
            next_position=lambda: {"files": sorted(done)},
        )

    def _read(self, path: str) -> Any:
        fmt = self.cfg.format or Path(path).suffix.lstrip(".").lower()
        try:
            if fmt == "parquet":
                import pyarrow.parquet as pq

                return pq.read_table(path)
            if fmt == "csv":
                import pyarrow.csv as pcsv

                return pcsv.read_csv(path)
            if fmt in ("json", "ndjson", "jsonl"):
                import pyarrow.json as pjson

                return pjson.read_json(path)
        except Exception as exc:
            raise SourceError(f"cannot read {path}: {exc}", where=f"sources.{self.name}") from exc
        raise SourceError(
            f"unknown file format '{fmt}' for {path}",
            where=f"sources.{self.name}",
            hint="set format: parquet, csv or json",
        )
