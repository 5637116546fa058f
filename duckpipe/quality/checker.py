"""Run one dataset's SodaCL checks on a DuckDB connection and return plain results.

Used by the publish gate (on staged data), by ``duckpipe check`` (on current data)
and by the Python API (on a data frame). soda-core runs the checks; this module
feeds it the dataset's sections of every checks file, stops with a located error
when a check cannot run, and counts the failing rows of row-level checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import QualityError
from duckpipe.quality.diagnose import CheckLocator, check_columns, scan_error
from duckpipe.quality.results import CheckResult, from_soda
from duckpipe.quality.scanner import CheckSpec, SodaScan

if TYPE_CHECKING:
    import duckdb

    from duckpipe.quality.sodacl import ChecksFile, ChecksSuite


@dataclass
class ChecksRun:
    """The results of one dataset's checks, plus soda-core's warnings about the checks themselves."""

    dataset: str
    results: list[CheckResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """False when a check of severity ``fail`` failed."""
        return not any(r.blocks for r in self.results)

    @property
    def failing(self) -> list[CheckResult]:
        return [r for r in self.results if r.blocks]


def run_checks(
    con: duckdb.DuckDBPyConnection,
    suite: ChecksSuite,
    dataset: str,
    *,
    samples_limit: int = 100,
    known_datasets: Callable[[], Iterable[str]] = tuple,
) -> ChecksRun:
    """Run the checks written ``checks for <dataset>:`` against ``dataset`` as ``con`` sees it."""
    labels = _labelled(suite, dataset)
    if not labels:
        return ChecksRun(dataset)
    locator = CheckLocator(labels, dataset)
    with SodaScan(con, samples_limit=samples_limit) as scan:
        specs = _parsed(scan, labels, locator)
        check_columns(specs, _columns_reader(con), locator, known_datasets)
        output = scan.execute()
    settle(con)
    locator.unevaluated = [c.check_cfg.location for c in output.checks if c.outcome is None]
    error = scan_error(output.errors, locator)
    if error is not None:
        raise error
    results = []
    for check in sorted(output.checks, key=_written_order):
        where = locator.of_log(_LogAt(check)).where
        if check.outcome is None:
            raise QualityError(f"check '{check.name}' could not be evaluated", where=where)
        results.append(from_soda(check, dataset, where, output.samples))
    for result in results:
        if result.failing_sql is not None:
            result.failed_rows = count_rows(con, result.failing_sql)
    return ChecksRun(dataset, results, [str(w.message) for w in output.warnings])


def parse_checks_for(
    con: duckdb.DuckDBPyConnection, suite: ChecksSuite, dataset: str
) -> list[tuple[CheckSpec, str]]:
    """Parse ``dataset``'s checks without running them: each check and where it is written.

    Raises QualityError at the check's line when soda-core cannot parse it.
    """
    labels = _labelled(suite, dataset)
    if not labels:
        return []
    locator = CheckLocator(labels, dataset)
    with SodaScan(con) as scan:
        return [(spec, locator.of_spec(spec).where) for spec in _parsed(scan, labels, locator)]


def _labelled(suite: ChecksSuite, dataset: str) -> dict[str, ChecksFile]:
    return {_label(f) + ".yml": f for f in suite.files_for(dataset)}


def _parsed(
    scan: SodaScan, labels: dict[str, ChecksFile], locator: CheckLocator
) -> list[CheckSpec]:
    for label, file in labels.items():
        scan.add(file.sodacl_for(locator.dataset), label.removesuffix(".yml"))
    error = scan_error(scan.parse_errors(), locator)
    if error is not None:
        raise error
    return scan.specs()


def count_rows(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.sql(f"select count(*) from ({strip_sql(sql)}) as failing").fetchall()
    return int(rows[0][0])


def settle(con: duckdb.DuckDBPyConnection) -> None:
    """Drop a result soda-core left half-read (DuckDB blocks the connection until then)."""
    con.abort()


def strip_sql(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


def _label(file: ChecksFile) -> str:
    """soda-core appends '.yml' to a file label: give it the path without its suffix."""
    return str(PurePosixPath(file.path).with_suffix(""))


def _written_order(check: Any) -> tuple[str, int]:
    location = check.check_cfg.location
    return (str(location.file_path), int(location.line or 0))


class _LogAt:
    """Adapts a soda Check to the (message, location) shape the locator reads."""

    def __init__(self, check: Any) -> None:
        self.location = check.check_cfg.location
        self.message = check.check_cfg.source_line


def _columns_reader(con: duckdb.DuckDBPyConnection) -> Callable[[str], list[str] | None]:
    import duckdb

    cache: dict[str, list[str] | None] = {}
    settle(con)

    def columns_of(dataset: str) -> list[str] | None:
        if dataset not in cache:
            name = '"' + dataset.strip("\"'`").replace('"', '""') + '"'
            try:
                cache[dataset] = list(con.sql(f"select * from {name} limit 0").columns)
            except duckdb.Error:
                cache[dataset] = None
        return cache[dataset]

    return columns_of
