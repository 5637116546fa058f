"""The price table and the thresholds the cost advisor judges a lake by.

Defaults are AWS S3 list prices for us-east-1 (USD) and a small on-demand VM.
Any value can be overridden, in this order (later wins):

1. the defaults below,
2. ``prices:`` in the project's ``duckpipe.yml``,
3. a YAML or JSON file passed with ``--prices FILE``.

An override file has the same shape as the defaults, e.g.::

    region: eu-west-1
    storage_classes:
      standard: {gb_month: 0.024}
    thresholds:
      target_file_bytes: 268435456

The report lists every source it merged, so a reader knows which prices it used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from duckpipe.core.errors import ConfigError, did_you_mean

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

StorageClassName = Literal[
    "standard", "standard_ia", "glacier_ir", "glacier_flexible", "deep_archive"
]
STORAGE_CLASSES: tuple[str, ...] = (
    "standard",
    "standard_ia",
    "glacier_ir",
    "glacier_flexible",
    "deep_archive",
)
# S3's own names, for lifecycle rules
S3_CLASS_NAMES = {
    "standard": "STANDARD",
    "standard_ia": "STANDARD_IA",
    "glacier_ir": "GLACIER_IR",
    "glacier_flexible": "GLACIER",
    "deep_archive": "DEEP_ARCHIVE",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageClass(_Frozen):
    """Prices and billing rules of one object storage class."""

    gb_month: float = Field(ge=0, description="storage, USD per GB-month")
    put_per_1000: float = Field(ge=0, description="PUT/COPY/POST and lifecycle transitions in")
    get_per_1000: float = Field(ge=0, description="GET/SELECT requests")
    retrieval_per_gb: float = Field(0.0, ge=0, description="data retrieval, USD per GB read")
    min_object_kb: int = Field(0, ge=0, description="smaller objects are billed as this size")
    min_days: int = Field(0, ge=0, description="minimum storage duration billed, in days")
    instant_access: bool = Field(True, description="readable without a restore request")


class ComputePrices(_Frozen):
    """What running the pipeline costs."""

    on_demand_hour: float = Field(0.1008, ge=0, description="one on-demand VM (2 vCPU, 8 GB)")
    spot_discount: float = Field(0.70, ge=0, le=1, description="spot price = on-demand x (1 - d)")
    serverless_per_tb_scanned: float = Field(5.0, ge=0, description="ad hoc SQL, USD per TB read")


class Thresholds(_Frozen):
    """Where the rules draw their lines; scale them for small lakes."""

    target_file_bytes: int = Field(512 * MiB, gt=0, description="lower end of the file target")
    max_file_bytes: int = Field(1 * GiB, gt=0, description="upper end of the file target")
    small_file_bytes: int = Field(128 * MiB, gt=0, description="files below this are small")
    oversized_file_bytes: int = Field(2 * GiB, gt=0, description="files above this are too big")
    min_excess_files: int = Field(50, ge=1, description="compaction must save this many files")
    partition_min_bytes: int = Field(1 * GiB, gt=0, description="the >1 GB partition guideline")
    min_partitions: int = Field(10, ge=2, description="fewer partitions are never 'too many'")
    partition_max_bytes: int = Field(256 * GiB, gt=0, description="partitions above are too big")
    unpartitioned_max_bytes: int = Field(100 * GiB, gt=0, description="partition above this")
    skew_ratio: float = Field(10.0, gt=1, description="largest / median partition bytes")
    warm_after_days: int = Field(30, ge=0, description="untouched this long -> warm tier")
    cold_after_days: int = Field(90, ge=0, description="untouched this long -> cold tier")
    warm_class: StorageClassName = "standard_ia"
    cold_class: StorageClassName = "glacier_ir"
    warm_read_fraction: float = Field(0.10, ge=0, description="share of warm bytes read a month")
    cold_read_fraction: float = Field(0.01, ge=0, description="share of cold bytes read a month")
    vacuum_retain_hours: int = Field(168, ge=0, description="retention the vacuum fix keeps")
    max_versions: int = Field(100, ge=1, description="more versions/snapshots kept is bloat")
    bloat_min_share: float = Field(0.2, ge=0, description="reclaimable / live bytes to report")
    scans_per_month: int = Field(30, ge=0, description="full reads of a table when unknown")
    requests_per_file_scan: int = Field(2, ge=1, description="GETs per file read: footer + data")
    clustering_min_files: float = Field(2.0, ge=1, description="files a point filter may touch")
    min_monthly_usd: float = Field(
        1.0, ge=0, description="materiality: priced findings saving less a month are dropped"
    )
    min_monthly_share: float = Field(
        0.01, ge=0, le=1, description="materiality: ... or less than this share of the lake's cost"
    )
    min_history_days: float = Field(
        7.0, ge=0, description="run history needed before usage is extrapolated to a month"
    )
    footer_sample: int = Field(
        32, ge=0, description="Parquet footers read per table for row groups"
    )
    parquet_footer_limit: int = Field(5000, ge=0, description="footers read for row counts")

    def materiality_usd(self, lake_monthly_usd: float) -> float:
        """The monthly saving a priced finding must reach: the floor or the share, the larger."""
        return max(self.min_monthly_usd, self.min_monthly_share * lake_monthly_usd)


class Prices(_Frozen):
    """Everything that turns facts into money."""

    region: str = "us-east-1"
    currency: str = "USD"
    storage_classes: dict[str, StorageClass] = Field(default_factory=dict)
    list_per_1000: float = Field(0.005, ge=0, description="LIST requests")
    compute: ComputePrices = ComputePrices()
    thresholds: Thresholds = Thresholds()
    sources: tuple[str, ...] = ("defaults: AWS S3 list prices, us-east-1",)

    def storage(self, name: str) -> StorageClass:
        return self.storage_classes[name]

    def usd_per_byte_month(self, name: str = "standard") -> float:
        return self.storage_classes[name].gb_month / GiB

    def describe(self) -> dict[str, Any]:
        """The prices as plain data, for the report."""
        return self.model_dump(mode="json")


DEFAULT_STORAGE_CLASSES: dict[str, dict[str, Any]] = {
    "standard": {"gb_month": 0.023, "put_per_1000": 0.005, "get_per_1000": 0.0004},
    "standard_ia": {
        "gb_month": 0.0125,
        "put_per_1000": 0.01,
        "get_per_1000": 0.001,
        "retrieval_per_gb": 0.01,
        "min_object_kb": 128,
        "min_days": 30,
    },
    "glacier_ir": {
        "gb_month": 0.004,
        "put_per_1000": 0.02,
        "get_per_1000": 0.01,
        "retrieval_per_gb": 0.03,
        "min_object_kb": 128,
        "min_days": 90,
    },
    "glacier_flexible": {
        "gb_month": 0.0036,
        "put_per_1000": 0.03,
        "get_per_1000": 0.0004,
        "retrieval_per_gb": 0.01,
        "min_days": 90,
        "instant_access": False,
    },
    "deep_archive": {
        "gb_month": 0.00099,
        "put_per_1000": 0.05,
        "get_per_1000": 0.0004,
        "retrieval_per_gb": 0.02,
        "min_days": 180,
        "instant_access": False,
    },
}


def default_prices() -> Prices:
    return Prices(
        storage_classes={k: StorageClass(**v) for k, v in DEFAULT_STORAGE_CLASSES.items()}
    )


def load_prices(
    *overrides: tuple[str, dict[str, Any]],
) -> Prices:
    """Defaults merged with each ``(source name, mapping)`` in turn.

    >>> load_prices(("test", {"thresholds": {"target_file_bytes": 1024}})).thresholds.target_file_bytes
    1024
    """
    data: dict[str, Any] = default_prices().model_dump()
    sources = list(data.pop("sources"))
    for source, mapping in overrides:
        if not mapping:
            continue
        if not isinstance(mapping, dict):
            raise ConfigError("prices must be a mapping of keys", where=source)
        _check_keys(mapping, data, source, ())
        data = _deep_merge(data, mapping)
        sources.append(source)
    try:
        return Prices.model_validate({**data, "sources": tuple(sources)})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(
            f"invalid price '{key}': {err['msg']}",
            where=", ".join(sources[1:]) or "prices",
            hint=f"got {err.get('input')!r}",
        ) from None


def read_prices_file(path: str | Path) -> tuple[str, dict[str, Any]]:
    """A ``--prices`` file (YAML or JSON) as an override."""
    from duckpipe.core.yaml import load_yaml

    file = Path(path)
    try:
        text = file.read_text()
    except OSError:
        raise ConfigError(
            f"no prices file {file}", where="--prices", hint="pass a YAML or JSON file"
        ) from None
    data = load_yaml(text, file=str(file), error=ConfigError) or {}
    return str(file), data


def _check_keys(mapping: dict[str, Any], known: dict[str, Any], source: str, at: tuple) -> None:
    for key, value in mapping.items():
        path = ".".join((*at, str(key)))
        if at == ("storage_classes",):
            if key not in STORAGE_CLASSES:
                raise ConfigError(
                    f"unknown storage class '{key}'",
                    where=source,
                    hint=did_you_mean(str(key), STORAGE_CLASSES)
                    or f"known: {', '.join(STORAGE_CLASSES)}",
                )
            known_here = known.get(key, {})
        elif key not in known:
            raise ConfigError(
                f"unknown price key '{path}'",
                where=source,
                hint=did_you_mean(str(key), known) or f"known keys: {', '.join(known)}",
            )
        else:
            known_here = known[key]
        if isinstance(value, dict) and isinstance(known_here, dict):
            _check_keys(value, known_here, source, (*at, str(key)))


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
