"""Files source: Parquet, CSV and JSON/NDJSON from local paths and ``s3://`` globs.

The position is the set of files already landed with each one's fingerprint (size and
modification time); the files the glob matches now that are not in it, or whose
fingerprint changed (a file rewritten under the same name), are the increment. Files are read as streams of record batches (Parquet
row groups, CSV and NDJSON blocks), so memory stays bounded by the batch size. Files
whose columns differ are read into one schema: the union of the columns, each with a
type that holds every file's values.

Columns named in the contract's ``dtypes`` are read from CSV as text, so that a value
of the wrong type goes to the dead letter queue instead of failing the whole file. An
empty CSV field is NULL (as in DuckDB's ``read_csv``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ConfigError, SourceError
from duckpipe.sources.base import Extraction, ExtractRange
from duckpipe.sources.filesystems import FileLocation, FileRef

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa

    from duckpipe.config import SourceConfig

FORMATS = {
    "parquet": "parquet",
    "pq": "parquet",
    "csv": "csv",
    "tsv": "csv",
    "json": "json",
    "ndjson": "json",
    "jsonl": "json",
}
BLOCK_SIZE = 4 << 20


class FileSource:
    """New files since the last run are the increment; the position is the files landed."""

    def __init__(
        self,
        name: str,
        cfg: SourceConfig,
        *,
        project_root: Path,
        storage_options: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.cfg = cfg
        options = cfg.options.get("storage_options") or storage_options
        self.location = FileLocation(cfg.uri, project_root, options)
        self.where = f"sources.{name}"

    def plan(self, position: dict[str, Any] | None, *, full_refresh: bool = False) -> ExtractRange:
        files = self.location.list()
        if not files:
            raise SourceError(
                f"no files match '{self.cfg.uri}'",
                where=f"{self.where}.uri",
                hint="check the path (relative paths are under the project directory)",
            )
        start = None if full_refresh or not position else position
        done = landed_files(start)
        new = [f for f in files if f.key not in done or done[f.key] not in (None, f.fingerprint)]
        return ExtractRange(
            source=self.name,
            start=start,
            description=f"{len(new)} new file(s) of {len(files)}",
            full_refresh=full_refresh,
            details={
                "files": [f.path for f in new],
                "keys": [f.key for f in new],
                "seen": {f.key: f.fingerprint for f in files},
            },
        )

    def extract(self, extract_range: ExtractRange) -> Extraction:
        import pyarrow as pa

        paths: list[str] = extract_range.details["files"]
        keys: list[str] = extract_range.details["keys"]
        schemas = [self._reader(path).schema for path in paths]
        schema = unify(schemas) if schemas else pa.schema([])
        landed = landed_files(extract_range.start)
        seen: dict[str, dict[str, int | None]] = extract_range.details["seen"]
        # a path-only entry of an older position takes the fingerprint the file has now:
        # it was landed under that name, and from here on a rewrite of it is seen
        fingerprints = {key: seen.get(key, fingerprint) for key, fingerprint in landed.items()} | {
            key: seen[key] for key in keys
        }
        done = {
            "files": sorted(fingerprints),
            "fingerprints": {k: v for k, v in sorted(fingerprints.items()) if v is not None},
        }

        def batches() -> Iterator[pa.RecordBatch]:
            for path in paths:
                reader = self._reader(path)
                while True:
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        break
                    except (pa.ArrowInvalid, OSError) as exc:
                        raise self._read_error(path, exc) from exc
                    yield conform(batch, schema)

        return Extraction(
            reader=pa.RecordBatchReader.from_batches(schema, batches()),
            next_position=lambda: done,
        )

    def format_of(self, path: str) -> str:
        fmt = self.cfg.format or Path(path).suffix.lstrip(".").lower()
        if fmt not in FORMATS:
            raise ConfigError(
                f"unknown file format '{fmt}' for {path}",
                where=f"{self.where}.format",
                hint="set format: parquet, csv, json or ndjson",
            )
        return FORMATS[fmt]

    def _reader(self, path: str) -> pa.RecordBatchReader:
        """A streaming reader of one file."""
        import pyarrow as pa

        fmt = self.format_of(path)
        fs = self.location.filesystem
        try:
            if fmt == "parquet":
                import pyarrow.parquet as pq

                parquet = pq.ParquetFile(fs.open_input_file(path))
                return pa.RecordBatchReader.from_batches(
                    parquet.schema_arrow, parquet.iter_batches(batch_size=self.cfg.batch_size)
                )
            if fmt == "csv":
                return self._csv(fs.open_input_stream(path), path)
            return self._json(fs.open_input_file(path))
        except (pa.ArrowInvalid, OSError, ValueError) as exc:
            raise self._read_error(path, exc) from exc

    def _csv(self, stream: Any, path: str) -> pa.RecordBatchReader:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        options = self.cfg.options
        delimiter = options.get("delimiter") or ("\t" if path.endswith(".tsv") else ",")
        as_text = {column: pa.string() for column in self.cfg.contract.dtypes}
        return pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(block_size=int(options.get("block_size", BLOCK_SIZE))),
            parse_options=pcsv.ParseOptions(delimiter=delimiter),
            # an empty field is a missing value, as in DuckDB's read_csv
            convert_options=pcsv.ConvertOptions(column_types=as_text, strings_can_be_null=True),
        )

    def _json(self, file: Any) -> pa.RecordBatchReader:
        import pyarrow as pa
        import pyarrow.json as pjson

        size = file.size()
        if file.read_at(min(size, 1024), 0).lstrip()[:1] == b"[":
            # a JSON array is one document and is read whole; NDJSON streams by blocks
            table = pa.Table.from_pylist(json.loads(file.read_at(size, 0)))
            return pa.RecordBatchReader.from_batches(
                table.schema, table.to_batches(max_chunksize=self.cfg.batch_size)
            )
        file.seek(0)
        block = int(self.cfg.options.get("block_size", BLOCK_SIZE))
        return pjson.open_json(file, read_options=pjson.ReadOptions(block_size=block))

    def _read_error(self, path: str, exc: Exception) -> SourceError:
        return SourceError(
            f"cannot read {path}: {str(exc).strip()}",
            where=self.where,
            hint="check the file; for a column with mixed values declare it in "
            "contract.dtypes (read as text, then checked row by row)",
        )


def landed_files(position: dict[str, Any] | None) -> dict[str, dict[str, int | None] | None]:
    """The files a position names, each with its fingerprint (None: remembered by path only).

    Positions written before fingerprints existed hold only ``files``, a list of paths:
    those entries are path-only, so such a file counts as landed whatever its content
    until the next commit records its fingerprint.
    """
    if not position:
        return {}
    fingerprints = position.get("fingerprints") or {}
    return {key: fingerprints.get(key) for key in position.get("files", [])}


def unify(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for files with different columns or types (text where types conflict)."""
    import pyarrow as pa

    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for field in schema:
            seen = fields.get(field.name)
            if seen is None:
                fields[field.name] = field.with_nullable(True)
                continue
            try:
                merged = pa.unify_schemas(
                    [pa.schema([seen]), pa.schema([field])], promote_options="permissive"
                )
                fields[field.name] = merged.field(0)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                fields[field.name] = pa.field(field.name, pa.string())
    return pa.schema(list(fields.values()))


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with ``schema``'s columns: missing ones null, others cast to the unified type."""
    import pyarrow as pa

    if batch.schema == schema:
        return batch
    columns = []
    for field in schema:
        index = batch.schema.get_field_index(field.name)
        if index < 0:
            columns.append(pa.nulls(batch.num_rows, field.type))
        else:
            column = batch.column(index)
            columns.append(column if column.type == field.type else column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


__all__ = ["FileRef", "FileSource", "conform", "landed_files", "unify"]
