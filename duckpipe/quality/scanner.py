"""The one place duckpipe talks to soda-core: import it quietly, run a Scan on a DuckDB connection.

soda-core 3.3 decides on usage telemetry when ``soda.scan`` is first imported, from a
global config file (``~/.soda/config.yml``, created with telemetry *on* when missing).
duckpipe puts its own settings file first in soda's search path, so telemetry is off,
no config file is written to the user's home and no network call is made. soda's
log lines go to the ``soda`` logger (silent unless the application configures logging).
"""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import MissingDependency

if TYPE_CHECKING:
    import duckdb

DATA_SOURCE = "duckpipe"
SODA_SETTINGS = Path(__file__).with_name("soda_settings.yml")
# soda-core keeps its logs in a process-wide singleton: one scan at a time
_SCAN_LOCK = threading.RLock()


@cache
def scan_class() -> Any:
    """``soda.scan.Scan``, imported with usage telemetry off."""
    try:
        from soda.common.config_helper import ConfigHelper
    except ImportError:
        raise MissingDependency("soda-core-duckdb", feature="SodaCL quality checks") from None
    settings = ConfigHelper.get_instance(str(SODA_SETTINGS))
    # also when soda was imported before duckpipe with another settings file
    settings.config["send_anonymous_usage_stats"] = False
    logging.getLogger("soda").addHandler(logging.NullHandler())
    from soda.scan import Scan
    from soda.telemetry.soda_telemetry import SodaTelemetry

    telemetry = SodaTelemetry.get_instance()
    if getattr(telemetry, "_SodaTelemetry__send", False):
        telemetry._SodaTelemetry__send = False  # created earlier by someone else: stop it reporting
    return Scan


def telemetry_enabled() -> bool:
    """Whether soda-core would report usage (always False once duckpipe loaded it)."""
    scan_class()
    from soda.telemetry.soda_telemetry import SodaTelemetry

    return bool(getattr(SodaTelemetry.get_instance(), "_SodaTelemetry__send", True))


@dataclass(frozen=True)
class CheckSpec:
    """A check as soda-core parsed it: what it reads, and where it is written."""

    dataset: str
    source_file: str  # soda's file label
    line: int
    text: str
    columns: tuple[str, ...] = ()
    metric: str | None = None  # built-in metric name (row_count, missing_count ...)
    target: str | None = None  # the other dataset of a reference check
    target_columns: tuple[str, ...] = ()


@dataclass
class Sample:
    """Failing rows soda-core sampled for one query (at most the samples limit)."""

    query: str
    columns: list[str]
    rows: list[tuple[Any, ...]]
    total: int


@dataclass
class ScanOutput:
    """What one executed scan produced: soda Check objects, its error logs, failed-row samples."""

    checks: list[Any]
    errors: list[Any]
    warnings: list[Any]
    samples: dict[str, Sample] = field(default_factory=dict)


class SodaScan:
    """One soda-core Scan over a DuckDB connection; use it in a ``with`` block (one scan at a time).

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("create table t as select 1 as x")
    >>> with SodaScan(con) as scan:
    ...     scan.add("checks for t:\\n  - row_count = 1\\n", "checks/t")
    ...     [(c.name, c.outcome.value) for c in scan.execute().checks]
    [('row_count = 1', 'pass')]
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, *, samples_limit: int = 100) -> None:
        self.con = con
        self.samples_limit = samples_limit
        self._samples: dict[str, Sample] = {}
        self._scan: Any = None

    def __enter__(self) -> SodaScan:
        scan_cls = scan_class()
        _SCAN_LOCK.acquire()
        try:
            scan = scan_cls()
            scan.set_data_source_name(DATA_SOURCE)
            scan.set_scan_definition_name("duckpipe")
            scan.add_duckdb_connection(_SodaConnection(self.con), DATA_SOURCE)
            # soda needs at least 1 to build the failing-rows queries duckpipe quarantines from
            scan._configuration.samples_limit = max(self.samples_limit, 1)
            scan.sampler = _recorder(self._samples, self.samples_limit)
        except BaseException:
            _SCAN_LOCK.release()
            raise
        self._scan = scan
        return self

    def __exit__(self, *exc: object) -> None:
        self._scan = None
        _SCAN_LOCK.release()

    def add(self, sodacl: str, label: str) -> None:
        """Parse ``sodacl``; soda-core reports its locations as ``label.yml:LINE``."""
        self._scan.add_sodacl_yaml_str(sodacl, file_name=label)

    def parse_errors(self) -> list[Any]:
        return list(self._scan.get_error_logs())

    def specs(self) -> list[CheckSpec]:
        """Every check soda-core understood, with the columns and datasets it reads."""
        specs: list[CheckSpec] = []
        for ds_cfg in self._scan._sodacl_cfg.data_source_scan_cfgs.values():
            for table_cfg in ds_cfg.tables_cfgs.values():
                for partition in table_cfg.partition_cfgs:
                    for cfg in partition.check_cfgs:
                        specs.append(_spec(table_cfg.table_name, cfg, None))
                    for column, col_cfg in partition.column_checks_cfgs.items():
                        for cfg in col_cfg.check_cfgs:
                            specs.append(_spec(table_cfg.table_name, cfg, column))
        return specs

    def execute(self) -> ScanOutput:
        from soda.common.log import LogLevel

        self._scan.execute()
        logs = list(self._scan._logs.logs)
        return ScanOutput(
            checks=list(self._scan._checks),
            errors=[log for log in logs if log.level == LogLevel.ERROR],
            warnings=[log for log in logs if log.level == LogLevel.WARNING],
            samples=self._samples,
        )


class _SodaConnection:
    """The DuckDB connection as soda-core sees it.

    After a failing query soda-core rolls back; DuckDB raises when no transaction is
    open, which would abort the whole scan. Here that rollback is a no-op, so soda
    logs the failing check and evaluates the others.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def rollback(self) -> None:
        import duckdb

        with suppress(duckdb.TransactionException):
            self._con.rollback()


def _spec(table: str, cfg: Any, column: str | None) -> CheckSpec:
    columns: list[str] = [column] if column else []
    metric = getattr(cfg, "metric_name", None)
    if metric and (getattr(cfg, "metric_expression", None) or getattr(cfg, "metric_query", None)):
        metric = None  # a user-defined metric: any name is fine
    if metric in ("duplicate_count", "duplicate_percent") and not column:
        columns += [str(a) for a in cfg.metric_args or []]
    columns += list(getattr(cfg, "source_column_names", None) or [])
    if getattr(cfg, "column_name", None) and cfg.column_name not in columns:
        columns.append(cfg.column_name)  # freshness
    location = cfg.location
    return CheckSpec(
        dataset=table,
        source_file=location.file_path,
        line=location.line,
        text=cfg.source_line,
        columns=tuple(columns),
        metric=metric,
        target=getattr(cfg, "target_table_name", None),
        target_columns=tuple(getattr(cfg, "target_column_names", None) or ()),
    )


def _recorder(store: dict[str, Sample], limit: int) -> Any:
    """A soda Sampler that keeps the sampled failing rows in memory, by query SQL and check name."""
    from soda.sampler.sample_ref import SampleRef
    from soda.sampler.sampler import Sampler

    class _Recorder(Sampler):
        def store_sample(self, sample_context: Any) -> Any:
            sample = sample_context.sample
            rows = sample.get_rows()
            schema = sample.get_schema()
            total = sample.get_rows_count()
            sample = Sample(
                sample_context.query, [c.name for c in schema.columns], list(rows[:limit]), total
            )
            store[sample_context.query] = sample
            # soda names the first check of the sampled metric: the only one for failed-rows checks
            store.setdefault(f"check:{sample_context.check_name}", sample)
            return SampleRef(
                name=sample_context.sample_name,
                schema=schema,
                total_row_count=total,
                stored_row_count=min(total, limit),
                type=SampleRef.TYPE_NOT_PERSISTED,
                message="kept by duckpipe",
            )

    return _Recorder()
