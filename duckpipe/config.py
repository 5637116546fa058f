"""duckpipe.yml -> a typed, validated ``ProjectConfig``.

``${VAR}`` and ``${VAR:-default}`` are interpolated from the environment before
validation. Every validation error names the file, the line, the key and a fix:

    duckpipe.yml:4: unknown key 'sorces' at 'sorces' (hint: did you mean 'sources'?)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from duckpipe.core import units
from duckpipe.core.errors import ConfigError, did_you_mean
from duckpipe.core.yaml import compose_yaml, construct_unique

CONFIG_FILE = "duckpipe.yml"
_ENV_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RetryConfig(_Strict):
    """Exponential backoff with jitter for transient source failures."""

    attempts: int = Field(5, ge=1)
    initial_delay: float = Field(0.5, gt=0)
    max_delay: float = Field(30.0, gt=0)
    max_elapsed: float = Field(300.0, gt=0)


class ContractConfig(_Strict):
    """What every landed row of a source must satisfy."""

    required_fields: list[str] = []
    dtypes: dict[str, str] = {}
    not_null: list[str] = []
    schema_policy: Literal["evolve", "freeze", "discard"] = "evolve"


class SourceConfig(_Strict):
    """One source in ``sources:``; ``type`` is inferred from ``uri`` when omitted."""

    type: Literal["postgres", "files", "kafka", "memory"] | None = None
    uri: str
    table: str | None = None
    query: str | None = None
    format: Literal["parquet", "csv", "json", "ndjson"] | None = None
    options: dict[str, Any] = {}
    watermark_column: str | None = None
    lookback: str | None = None
    primary_key: list[str] = []
    batch_size: int = Field(100_000, gt=0)
    retry: RetryConfig = RetryConfig()
    contract: ContractConfig = ContractConfig()
    land_as: str | None = None
    partition_by: list[str] = []
    transform: str | None = None
    """SQL over each incoming batch (a relation named ``batch``), applied before landing."""
    # kafka
    topics: list[str] = []
    topic_pattern: str | None = None
    group_id: str | None = None
    value_format: Literal["json", "bytes"] = "json"
    client: Literal["auto", "confluent-kafka", "kafka-python", "memory"] = "auto"

    @field_validator("primary_key", "partition_by", "topics", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def resolved_type(self) -> str:
        if self.type:
            return self.type
        scheme = self.uri.split("://", 1)[0] if "://" in self.uri else ""
        if scheme in ("postgresql", "postgres"):
            return "postgres"
        if scheme == "kafka":
            return "kafka"
        if scheme == "memory":
            return "memory"
        return "files"


class ModelDefaults(_Strict):
    """Model configuration applied to every model under a folder."""

    materialized: Literal["view", "table", "ephemeral", "incremental"] | None = None
    incremental_strategy: Literal["append", "merge", "delete+insert"] | None = None
    unique_key: list[str] | None = None
    partition_by: list[str] | None = None
    tags: list[str] | None = None
    format: Literal["delta", "iceberg"] | None = None
    enabled: bool | None = None

    @field_validator("unique_key", "partition_by", "tags", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class ModelsConfig(_Strict):
    """``models:``: project-wide defaults and per-folder overrides (``paths: {marts: {...}}``)."""

    defaults: ModelDefaults = ModelDefaults(materialized="view")
    paths: dict[str, ModelDefaults] = {}
    concurrency: int = Field(1, ge=1)


class SeedConfig(_Strict):
    """One seed in ``seeds:``: column types (the rest are inferred) and CSV options."""

    column_types: dict[str, str] = {}
    delimiter: str | None = None
    header: bool = True


class CatalogConfig(_Strict):
    """The Iceberg catalog; SQLite under ``.duckpipe/`` unless a URI is given."""

    uri: str | None = None
    namespace: str = "duckpipe"


class QualityConfig(_Strict):
    """How SodaCL checks gate publishing."""

    enabled: bool = True
    quarantine: bool = True
    samples_limit: int = Field(100, ge=0)


def parse_duration(value: Any) -> Any:
    """A duration of duckpipe.yml in seconds (see ``core.units``); numbers are left to the field's bounds."""
    return units.parse_duration(value) if isinstance(value, str) else value


class WindowConfig(_Strict):
    """An event-time window over a stream; durations are ``30s``, ``5m``, ``1h`` or seconds."""

    type: Literal["tumbling", "hopping", "session"]
    time_column: str = "_timestamp"
    time_unit: Literal["s", "ms", "us"] = "ms"
    size: float | None = Field(None, gt=0)
    slide: float | None = Field(None, gt=0)
    gap: float | None = Field(None, gt=0)
    allowed_lateness: float = Field(0.0, ge=0)

    @field_validator("size", "slide", "gap", "allowed_lateness", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value)

    @model_validator(mode="after")
    def _needs(self) -> WindowConfig:
        needed = {"tumbling": ["size"], "hopping": ["size", "slide"], "session": ["gap"]}
        for name in needed[self.type]:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.type} window needs '{name}'")
        return self


class StreamConfig(_Strict):
    """One long-running pipeline in ``streams:``."""

    source: str
    table: str
    sql: str | None = None
    max_records: int = Field(10_000, gt=0)
    max_interval: float = Field(5.0, gt=0)
    window: WindowConfig | None = None
    dlq_topic: str | None = None
    topic: str | None = None
    """A derived topic: every output row also goes there, exactly once (Kafka transactions)."""
    topic_key: list[str] | None = None
    """Columns of the derived topic's message key; default ``key`` (+ ``window_start``)."""
    format: Literal["delta", "iceberg"] | None = None
    mode: Literal["append", "update"] = "append"
    key: list[str] = []
    partition_by: list[str] = []
    start: Literal["earliest", "latest"] = "earliest"
    give_up_after: float | None = Field(None, ge=0)
    """How long an unreachable broker is retried before the stream fails (0: never)."""
    # a failing SodaCL check on a micro-batch: stop uncommitted, or send its rows to the DLQ
    on_check_failure: Literal["stop", "dlq"] = "stop"

    @field_validator("max_interval", "give_up_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value)

    @field_validator("key", "partition_by", "topic_key", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class MaintenanceConfig(_Strict):
    """``maintenance:``: compact, then vacuum, the tables a run published, after the run."""

    tables: list[str] = []
    optimize: bool = True
    target_file_size: int = 128 * 1024 * 1024
    vacuum: bool = True
    retention_hours: float = 168.0

    @field_validator("tables", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("target_file_size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return units.parse_size(value)

    @field_validator("retention_hours")
    @classmethod
    def _safe_retention(cls, value: float) -> float:
        from duckpipe.sinks.maintenance import MIN_RETENTION_HOURS

        if value < MIN_RETENTION_HOURS:
            raise ValueError(
                f"{value:g} h is shorter than the safe minimum of {MIN_RETENTION_HOURS:g} h "
                "(running readers or writers may still need those files); vacuum a table "
                "that nothing uses by hand: duckpipe table vacuum NAME --retention-hours N --force"
            )
        return value


class PricesConfig(_Strict):
    """Overrides for the cost advisor's price table (USD)."""

    model_config = ConfigDict(extra="allow")


class ProjectConfig(_Strict):
    """The whole of duckpipe.yml."""

    name: str = "duckpipe"
    lake: str = "./lake"
    format: Literal["delta", "iceberg"] = "delta"
    catalog: CatalogConfig = CatalogConfig()
    storage_options: dict[str, str] = {}
    vars: dict[str, Any] = {}
    sources: dict[str, SourceConfig] = {}
    models: ModelsConfig = ModelsConfig()
    seeds: dict[str, SeedConfig] = {}
    quality: QualityConfig = QualityConfig()
    streams: dict[str, StreamConfig] = {}
    maintenance: MaintenanceConfig | None = None
    prices: PricesConfig = PricesConfig()
    pattern: Annotated[str | None, Field(description="the architecture pattern scaffolded")] = None
    kind: Literal["batch", "streaming", "adhoc"] = "batch"


def interpolate_env(text: str, *, file: str) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}``; an unset variable without default is an error."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        value = os.environ.get(name)
        if value is not None:
            return value
        if default is not None:
            return default
        line = text.count("\n", 0, match.start()) + 1
        raise ConfigError(
            f"environment variable ${{{name}}} is not set",
            where=f"{file}:{line}",
            hint=f"export {name}=... or write ${{{name}:-default}}",
        )

    return _ENV_VAR.sub(replace, text)


def load_config(project_dir: str | os.PathLike[str] = ".") -> ProjectConfig:
    """Read and validate ``duckpipe.yml`` in ``project_dir``."""
    path = Path(project_dir) / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(
            f"no {CONFIG_FILE} in {Path(project_dir).resolve()}",
            hint="run duckpipe inside a project, pass --project DIR, or create one with `duckpipe init DIR`",
        )
    return parse_config(path.read_text(), file=str(path))


def parse_config(text: str, *, file: str = CONFIG_FILE) -> ProjectConfig:
    """Validate the YAML ``text``; errors name ``file``, the line and the key."""
    text = interpolate_env(text, file=file)
    root = compose_yaml(text, file=file, error=ConfigError, context_first=True)
    if root is None:
        raise ConfigError(
            "the file is empty (only comments or blank lines), so there is nothing to run",
            where=file,
            hint="add at least 'name: <project>'; `duckpipe init DIR` writes a complete one",
        )
    data = construct_unique(root, file=file, error=ConfigError)
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys", where=f"{file}:1")
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, root, file) from None


def _config_error(exc: ValidationError, root: yaml.Node | None, file: str) -> ConfigError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc)
    line = _line_of(root, loc)
    where = f"{file}:{line}" if line else file
    if err["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        hint = did_you_mean(loc[-1], model.model_fields) if model else None
        allowed = ", ".join(model.model_fields) if model else ""
        return ConfigError(
            f"unknown key '{loc[-1]}' at '{key}'",
            where=where,
            hint=hint or (f"allowed keys: {allowed}" if allowed else None),
        )
    if err["type"] == "missing":
        return ConfigError(f"missing required key '{key}'", where=where, hint=f"add '{loc[-1]}:'")
    return ConfigError(
        f"invalid value for '{key}': {err['msg']}",
        where=where,
        hint=f"got {err.get('input')!r}",
    )


def _line_of(node: yaml.Node | None, loc: list[str]) -> int | None:
    """The 1-based line of the key path ``loc`` in the composed YAML, as deep as it exists."""
    line = None
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        for key_node, value_node in node.value:
            if str(key_node.value) == part:
                line = key_node.start_mark.line + 1
                node = value_node
                break
        else:
            break
    return line


def _model_at(loc: list[str]) -> type[BaseModel] | None:
    """The pydantic model that owns the keys at path ``loc`` (for did-you-mean)."""
    model: type[BaseModel] | None = ProjectConfig
    for part in loc:
        if model is None:
            return None
        field = model.model_fields.get(part)
        if field is None:
            # a key of a dict[str, Model] (a source name, a folder path)
            continue
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            # dict[str, Model] or Model | None
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if not models:
                return None
            model = models[-1]
    return model
