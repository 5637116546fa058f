"""``DataQualityFramework``: run a SodaCL suite on a data frame from Python.

>>> import pyarrow as pa
>>> dq = DataQualityFramework()
>>> dq.register_suite("orders_suite", "checks for orders:\\n  - row_count > 0\\n  - missing_count(id) = 0\\n")
>>> result = dq.validate_dataframe(pa.table({"id": [1, None]}), suite_name="orders_suite", data_asset_name="orders")
>>> result.success, [(c.name, c.outcome, c.value) for c in result.checks]
(False, [('row_count > 0', 'pass', 2), ('missing_count(id) = 0', 'fail', 1)])
>>> result.failed_rows("missing_count(id) = 0")
[{'id': None}]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from duckpipe.core.errors import QualityError, did_you_mean
from duckpipe.quality.results import CheckResult
from duckpipe.quality.sodacl import ChecksFile, ChecksSuite, parse_checks


@dataclass
class ValidationResult:
    """What ``validate_dataframe`` found: ``success`` is False when a ``fail`` check failed."""

    suite: str
    data_asset: str
    success: bool
    checks: list[CheckResult] = field(default_factory=list)

    def check(self, name: str) -> CheckResult:
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(
            f"no check '{name}' in the result"
            + (f" ({hint})" if (hint := did_you_mean(name, [c.name for c in self.checks])) else "")
        )

    def failed_rows(self, name: str) -> list[dict[str, Any]]:
        """Samples of the rows check ``name`` found failing (up to the samples limit)."""
        return self.check(name).samples

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "data_asset": self.data_asset,
            "success": self.success,
            "checks": [{**c.to_dict(), "samples": c.samples} for c in self.checks],
        }


class DataQualityFramework:
    """Validate Arrow tables, record batch readers or pandas data frames against SodaCL suites.

    A suite is registered by name (``register_suite``) or found as a file: the name as a
    path, or ``<checks_dir>/<name>.yml`` (``checks_dir`` defaults to ``./checks``).
    """

    def __init__(self, checks_dir: str | Path = "checks", *, samples_limit: int = 100) -> None:
        self.checks_dir = Path(checks_dir)
        self.samples_limit = samples_limit
        self._suites: dict[str, ChecksFile] = {}

    def register_suite(self, name: str, sodacl: str | Path) -> None:
        """Register SodaCL text (or a path to a SodaCL file) under ``name``."""
        if isinstance(sodacl, Path) or (
            "\n" not in sodacl and sodacl.endswith((".yml", ".yaml")) and Path(sodacl).is_file()
        ):
            path = Path(sodacl)
            self._suites[name] = parse_checks(path.read_text(), str(path))
        else:
            self._suites[name] = parse_checks(sodacl, f"<suite {name}>")

    def suite(self, name: str) -> ChecksFile:
        """The suite ``name``: registered, a SodaCL file path, or a file in ``checks_dir``."""
        if name in self._suites:
            return self._suites[name]
        candidates = [Path(name), self.checks_dir / f"{name}.yml", self.checks_dir / f"{name}.yaml"]
        for path in candidates:
            if path.is_file():
                return parse_checks(path.read_text(), str(path))
        known = [*self._suites, *(p.stem for p in sorted(self.checks_dir.glob("*.y*ml")))]
        raise QualityError(
            f"no suite named '{name}'",
            where=str(self.checks_dir),
            hint=did_you_mean(name, known)
            or "register one with register_suite(name, sodacl) or put <name>.yml in the checks folder",
        )

    def validate_dataframe(
        self,
        df: Any,
        suite_name: str,
        data_asset_name: str,
        *,
        references: Mapping[str, Any] | None = None,
    ) -> ValidationResult:
        """Run the suite's ``checks for <data_asset_name>:`` on ``df``.

        ``references`` names other data frames the checks read (reference checks, failed-rows
        queries). SodaCL errors raise QualityError naming the suite file and line.
        """
        from duckpipe.engine import Engine
        from duckpipe.quality.checker import run_checks
        from duckpipe.quality.connection import checks_connection

        file = self.suite(suite_name)
        if data_asset_name not in file.datasets():
            raise QualityError(
                f"suite '{suite_name}' has no checks for '{data_asset_name}'",
                where=file.path,
                hint=did_you_mean(data_asset_name, file.datasets())
                or f"it has checks for: {', '.join(file.datasets()) or 'nothing'}",
            )
        engine = Engine()
        try:
            engine.register(data_asset_name, as_arrow(df))
            for name, other in (references or {}).items():
                engine.register(name, as_arrow(other))
            with checks_connection(engine, data_asset_name) as con:
                run = run_checks(
                    con,
                    ChecksSuite((file,)),
                    data_asset_name,
                    samples_limit=self.samples_limit,
                    known_datasets=lambda: [data_asset_name, *(references or {})],
                )
        finally:
            engine.close()
        return ValidationResult(suite_name, data_asset_name, run.passed, run.results)


def as_arrow(df: Any) -> Any:
    """An Arrow table (or dataset) DuckDB can scan many times, from the usual data-frame shapes."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    if isinstance(df, pa.Table | ds.Dataset):
        return df
    if isinstance(df, pa.RecordBatchReader):
        return df.read_all()
    if isinstance(df, pa.RecordBatch):
        return pa.Table.from_batches([df])
    if type(df).__module__.startswith("pandas"):
        return pa.Table.from_pandas(df, preserve_index=False)
    if isinstance(df, list | tuple) and all(isinstance(b, pa.RecordBatch) for b in df) and df:
        return pa.Table.from_batches(list(df))
    raise QualityError(
        f"cannot validate a {type(df).__name__}",
        hint="pass a pyarrow Table, RecordBatchReader, RecordBatch list or a pandas DataFrame",
    )
