"""Turn what soda-core could not parse or run into one QualityError naming the checks file and line.

soda-core logs most problems without a location (an unknown metric, a broken
threshold, a query on a column that does not exist) and then carries on. duckpipe
checks the columns and datasets every check reads *before* running the scan, and
maps whatever soda-core still reports back to the check's line in the user's file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from duckpipe.core.errors import QualityError, did_you_mean
from duckpipe.quality.scanner import CheckSpec
from duckpipe.quality.sodacl import Block, ChecksFile

BUILTIN_METRICS = (
    "row_count",
    "missing_count",
    "missing_percent",
    "invalid_count",
    "invalid_percent",
    "duplicate_count",
    "duplicate_percent",
    "min",
    "max",
    "avg",
    "sum",
    "min_length",
    "max_length",
    "avg_length",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "percentile",
    "freshness",
    "schema",
    "failed rows",
    "values in",
)
CHECK_OPTIONS = (
    "name",
    "warn",
    "fail",
    "filter",
    "valid values",
    "valid format",
    "valid regex",
    "valid min",
    "valid max",
    "valid length",
    "valid min length",
    "valid max length",
    "missing values",
    "missing format",
    "missing regex",
    "invalid values",
    "invalid format",
    "invalid regex",
    "samples limit",
    "fail query",
    "fail condition",
    "attributes",
    "identity",
)
# soda-core messages that only follow from an earlier error
_CONSEQUENCES: tuple[str, ...] = (
    "Error occurred while executing scan",
    "were not computed for check",
)
_CONSEQUENCES += ("No valid checks found", "Could not close connection")


@dataclass(frozen=True)
class Located:
    """Where a problem is: a checks file and a line."""

    file: ChecksFile
    line: int | None

    @property
    def where(self) -> str:
        return self.file.where(self.line)


class CheckLocator:
    """Finds the checks file and line of a soda-core message or parsed check."""

    def __init__(self, files_by_label: dict[str, ChecksFile], dataset: str) -> None:
        self.files = files_by_label
        self.dataset = dataset
        # soda locations of the checks a scan could not evaluate: where an error without
        # a location most likely comes from
        self.unevaluated: list[Any] = []

    def of_spec(self, spec: CheckSpec) -> Located:
        return Located(self._file(spec.source_file), spec.line)

    def of_log(self, log: Any) -> Located:
        location = getattr(log, "location", None)
        if location is not None and location.file_path in self.files:
            return Located(self.files[location.file_path], location.line)
        message = str(log.message)
        entries = [(f, b, c) for f in self.files.values() for b in f.blocks for c in b.checks]
        for file, block, check in entries:
            if block.dataset == self.dataset and (
                f'"{check.text}"' in message or f"'{check.text}'" in message
            ):
                return Located(file, check.line)
        unsupported = re.search(r"Unsupported metric (\w+)", message)
        column = re.search(r'column "?(\w+)"? not found', message)
        needle = unsupported.group(1) if unsupported else column.group(1) if column else None
        blocks = [
            (f, b) for f in self.files.values() for b in f.blocks if b.dataset == self.dataset
        ]
        if needle:
            for file, block in blocks:
                line = _line_mentioning(file, block, needle)
                if line is not None:
                    return Located(file, line)
        for location in self.unevaluated:
            if location.file_path in self.files:
                return Located(self.files[location.file_path], location.line)
        if blocks:
            return Located(blocks[0][0], blocks[0][1].line)
        return Located(next(iter(self.files.values())), None)

    def _file(self, label: str) -> ChecksFile:
        return self.files.get(label) or next(iter(self.files.values()))


def _line_mentioning(file: ChecksFile, block: Block, word: str) -> int | None:
    """The line of the check in ``block`` whose text (or configuration) mentions ``word``."""
    lines = file.text.splitlines()
    for number in range(block.line, min(block.end, len(lines)) + 1):
        if re.search(rf"\b{re.escape(word)}\b", lines[number - 1]):
            starts = [c.line for c in block.checks if c.line <= number]
            return max(starts) if starts else number
    return None


def check_columns(
    specs: Iterable[CheckSpec],
    columns_of: Callable[[str], list[str] | None],
    locator: CheckLocator,
    known_datasets: Callable[[], Iterable[str]],
) -> None:
    """Every column and dataset a check reads must exist; raise for the first that does not."""
    for spec in specs:
        where = locator.of_spec(spec).where
        _require_columns(spec.dataset, spec.columns, columns_of, where, known_datasets)
        if spec.target:
            _require_columns(spec.target, spec.target_columns, columns_of, where, known_datasets)


def _require_columns(
    dataset: str,
    wanted: Iterable[str],
    columns_of: Callable[[str], list[str] | None],
    where: str,
    known_datasets: Callable[[], Iterable[str]],
) -> None:
    columns = columns_of(dataset)
    if columns is None:
        raise QualityError(
            f"unknown dataset '{dataset}'",
            where=where,
            hint=did_you_mean(dataset, known_datasets())
            or "name a landed source table, a model, a seed or a lake table",
        )
    lowered = {c.lower() for c in columns}
    for column in wanted:
        name = column.strip("\"'`")
        if name.lower() not in lowered:
            raise QualityError(
                f"unknown column '{name}' in dataset '{dataset}'",
                where=where,
                hint=did_you_mean(name, columns) or f"its columns are: {', '.join(columns)}",
            )


def scan_error(errors: list[Any], locator: CheckLocator) -> QualityError | None:
    """The first real problem soda-core logged, as a QualityError at the check's line."""
    real = [e for e in errors if not any(c in str(e.message) for c in _CONSEQUENCES)]
    if not errors:
        return None
    log = (real or errors)[0]
    located = locator.of_log(log)
    message, hint = _explain(log)
    return QualityError(message, where=located.where, hint=hint)


def _explain(log: Any) -> tuple[str, str | None]:
    message = str(log.message).strip()
    query_error = re.match(r"Query execution error in [^:]+: (.*)", message, re.S)
    if query_error:
        first = query_error.group(1).strip().splitlines()[0]
        return f"a check's query failed in DuckDB: {first}", "check the column and table names"
    first = message.splitlines()[0]
    if "Soda Cloud" in first:
        return f"this check needs Soda Cloud: {first}", (
            "duckpipe runs soda-core without Soda Cloud, so checks that compare with earlier "
            "scans (change for, anomaly detection, schema changes) cannot run; use thresholds, "
            "and follow values over runs with `duckpipe check --trend CHECK`"
        )
    unsupported = re.match(r"Unsupported metric (\w+)", first)
    if unsupported:
        metric = unsupported.group(1)
        return f"unknown check type '{metric}'", did_you_mean(
            metric, BUILTIN_METRICS
        ) or "SodaCL checks include " + ", ".join(BUILTIN_METRICS[:8]) + ", ..."
    option = re.match(r"Skipping unsupported check configuration: (.+)", first)
    if option:
        key = option.group(1).strip()
        return f"unknown check option '{key}'", did_you_mean(key, CHECK_OPTIONS) or (
            "options include " + ", ".join(CHECK_OPTIONS[:8]) + ", ..."
        )
    if first.startswith("Invalid check"):
        return f"SodaCL syntax error: {first}", "write checks as `metric(column) <op> value`"
    if log.exception is not None and not isinstance(log.exception, KeyError):
        return f"SodaCL error: {first}: {str(log.exception).splitlines()[0]}", None
    return f"SodaCL error: {first}", None
