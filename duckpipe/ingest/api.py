"""``BatchDataIngester``: the batch ingestion engine as a Python API.

    ingester = BatchDataIngester(config={})
    df = ingester.extract_from_database(
        connection_string="postgresql://host:5432/db",
        query="SELECT * FROM orders",
        watermark_column="updated_at",
        last_watermark=last_run_timestamp)          # None: a full load
    df = ingester.validate_and_clean(df, {"required_fields": ["id", "user_id"],
                                          "dtypes": {"id": "int64"}})
    ingester.save_dead_letter_queue("s3://lake/dlq/orders")

Data is Arrow (``pyarrow.Table``); pandas DataFrames are accepted as input. After an
extraction ``ingester.last_watermark`` holds the highest watermark read, ready to be
passed as ``last_watermark`` next time.

``config`` keys (all optional): ``source`` (the name recorded with every row, default
``"api"``), ``run_id``, ``retry`` (``attempts``, ``initial_delay``, ``max_delay``,
``max_elapsed``), ``lookback``, ``options`` (source options such as
``numeric_scale``), ``metadata_columns`` (default True: ``extract_from_database`` adds
``_extracted_at`` (when the extraction started), ``_source``, ``_run_id``;
``validate_and_clean`` keeps them, and adds them with the validation time only to data
that lacks them), ``storage_options`` (for an ``s3://`` dead letter queue),
``format`` (``delta`` or ``iceberg``, default ``delta``) and ``console``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from duckpipe.config import ContractConfig, RetryConfig, SourceConfig
from duckpipe.core.console import Console, NullConsole
from duckpipe.core.errors import ConfigError
from duckpipe.core.retry import call_with_retry
from duckpipe.core.run_ids import new_run_id
from duckpipe.ingest.contracts import Contract
from duckpipe.ingest.dlq import DeadLetters, write_dead_letters
from duckpipe.ingest.metadata import METADATA_COLUMNS, MetadataColumns
from duckpipe.sinks.lake_types import LakeTypes
from duckpipe.sources.watermarks import Watermark

if TYPE_CHECKING:
    import pyarrow as pa


class BatchDataIngester:
    """Extract from PostgreSQL, validate against a contract, keep rejected rows (see module doc)."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})
        self.source = str(self.config.get("source", "api"))
        self.run_id = str(self.config.get("run_id") or new_run_id())
        self.retry = _validated(RetryConfig, self.config.get("retry") or {}, "config.retry")
        self.console: Console = self.config.get("console") or NullConsole()
        self.dead_letters = DeadLetters(self.source, self.run_id)
        self.last_watermark: Any = None

    def extract_from_database(
        self,
        connection_string: str,
        query: str,
        watermark_column: str | None = None,
        last_watermark: Any = None,
    ) -> pa.Table:
        """Rows of ``query`` whose ``watermark_column`` exceeds ``last_watermark`` (all when None).

        The bound is sent as a bound parameter, never pasted into the SQL. Transient
        failures (connection refused or lost) are retried with backoff. The rows carry the
        metadata columns, ``_extracted_at`` being the moment the extraction started.
        """
        from duckpipe.sources.postgres import PostgresSource

        cfg = _validated(
            SourceConfig,
            {
                "uri": connection_string,
                "query": query,
                "watermark_column": watermark_column,
                "lookback": self.config.get("lookback"),
                "options": self.config.get("options") or {},
            },
            "extract_from_database",
        )
        source = PostgresSource(self.source, cfg)
        position = None
        if last_watermark is not None:
            if not watermark_column:
                raise ConfigError(
                    "last_watermark was given without a watermark_column",
                    where="extract_from_database",
                    hint="pass watermark_column='updated_at' (the column the watermark is from)",
                )
            position = Watermark.of(watermark_column, last_watermark).to_position()
        extract_range = source.plan(position)
        started = datetime.now(UTC)

        def attempt() -> tuple[pa.Table, dict[str, Any] | None]:
            extraction = source.extract(extract_range)
            try:
                return extraction.reader.read_all(), extraction.next_position()
            finally:
                extraction.close()

        table, reached = call_with_retry(
            attempt, self.retry, what=f"extract {self.source}", console=self.console
        )
        moved = Watermark.from_position(reached)
        self.last_watermark = moved.value if moved is not None else last_watermark
        if self.config.get("metadata_columns", True):
            table = MetadataColumns(self.source, self.run_id, started).extend(table)
        return table

    def validate_and_clean(self, df: Any, schema: dict[str, Any]) -> pa.Table:
        """The rows of ``df`` that satisfy ``schema`` (a contract: ``required_fields``, ``dtypes``,
        ``not_null``), cast to the declared types and ready for a lake table.

        Rejected rows are kept, with the reason and column, for ``save_dead_letter_queue``.
        """
        import pyarrow as pa

        table = to_arrow(df)
        contract_cfg = _validated(ContractConfig, schema or {}, "validate_and_clean(schema)")
        contract = Contract(contract_cfg, source=self.source)
        metadata = None
        carried = set(METADATA_COLUMNS) <= set(table.column_names)  # from extract_from_database
        if self.config.get("metadata_columns", True) and not carried:
            metadata = MetadataColumns(self.source, self.run_id, datetime.now(UTC))
        lake_types = LakeTypes(contract.output_schema(table.schema))
        out_schema = lake_types.schema
        if metadata is not None:
            out_schema = metadata.schema(out_schema)
        good: list[pa.RecordBatch] = []
        try:
            for batch in table.to_batches():
                verdict = contract.check(batch)
                if verdict.bad is not None:
                    self.dead_letters.add(verdict.bad)
                cleaned = lake_types(verdict.good)
                good.append(metadata(cleaned) if metadata is not None else cleaned)
        finally:
            lake_types.close()
        if self.dead_letters.rows:
            self.console.warn(f"{self.source}: rejected {self.dead_letters.summary()}")
        return pa.Table.from_batches(good, schema=out_schema)

    def save_dead_letter_queue(self, path: str) -> int:
        """Store the rejected rows as a lake table at ``path`` (local or ``s3://``).

        Returns the number of rows written; rows already stored there are not written twice.
        """
        from duckpipe.sinks import open_sink

        root, _, name = path.rstrip("/").rpartition("/")
        if not name:
            raise ConfigError(f"'{path}' does not name a table", hint="e.g. ./lake/dlq/orders")
        lake = open_sink(
            root or ".",
            format=str(self.config.get("format", "delta")),
            storage_options=self.config.get("storage_options") or None,
        )
        commit = write_dead_letters(lake, name, self.dead_letters.table())
        return commit.rows_written if commit is not None else 0


def to_arrow(data: Any) -> pa.Table:
    """An Arrow table from a table, a record batch or reader, or a pandas DataFrame."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    if type(data).__module__.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    raise ConfigError(
        f"cannot validate a {type(data).__name__}",
        hint="pass a pyarrow Table or RecordBatchReader, or a pandas DataFrame",
    )


def _validated(model: Any, values: dict[str, Any], where: str) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"invalid '{key}': {err['msg']}", where=where) from None
