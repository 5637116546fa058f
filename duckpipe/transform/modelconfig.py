"""A model's configuration: folder defaults from duckpipe.yml, a header comment, ``{{ config() }}``.

Later layers win: project defaults < folder defaults (shallow to deep) < header comment <
``{{ config(...) }}`` in the file. Tags add up across layers, as in dbt.

A header comment is a run of ``-- key: value`` lines before the first line of SQL::

    -- materialized: incremental
    -- unique_key: [order_id]
    select ...

Only known keys are read; other header comments stay comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from duckpipe.config import ModelsConfig

MATERIALIZATIONS = ("view", "table", "ephemeral", "incremental")
STRATEGIES = ("append", "merge", "delete+insert")
_LIST_KEYS = ("unique_key", "partition_by", "tags", "pre_hook", "post_hook")
KNOWN_KEYS = (
    "materialized",
    "incremental_strategy",
    "enabled",
    "format",
    *_LIST_KEYS,
)
# dbt keys accepted (and ignored) so that dbt models run unchanged.
DBT_KEYS = (
    "alias",
    "schema",
    "database",
    "meta",
    "docs",
    "persist_docs",
    "full_refresh",
    "on_schema_change",
    "grants",
    "contract",
    "sql_header",
    "cluster_by",
    "incremental_predicates",
    "group",
    "access",
    "pre-hook",
    "post-hook",
)


@dataclass
class ModelConfig:
    """The resolved configuration of one model; ``where`` maps a key to the file:line that set it."""

    materialized: str = "view"
    incremental_strategy: str | None = None
    unique_key: list[str] = field(default_factory=list)
    partition_by: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    enabled: bool = True
    format: str | None = None
    pre_hook: list[str] = field(default_factory=list)
    post_hook: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)

    @property
    def strategy(self) -> str:
        """The incremental strategy: as configured, else merge with a unique_key, else append."""
        return self.incremental_strategy or ("merge" if self.unique_key else "append")

    def update(self, values: dict[str, Any], where: str) -> None:
        """Apply one layer of settings (validated); ``where`` names where they were written."""
        for key, value in values.items():
            key = key.replace("-", "_")
            if key not in KNOWN_KEYS:
                self.extra[key] = value
                continue
            value = _validated(key, value, where)
            if key == "tags":
                value = [*self.tags, *(t for t in value if t not in self.tags)]
            setattr(self, key, value)
            self.where[key] = where

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``ModelStep.config`` (no defaults left implicit)."""
        data: dict[str, Any] = {
            "materialized": self.materialized,
            "tags": list(self.tags),
            "partition_by": list(self.partition_by),
        }
        if self.materialized == "incremental":
            data["incremental_strategy"] = self.strategy
            data["unique_key"] = list(self.unique_key)
        if self.format:
            data["format"] = self.format
        if self.pre_hook:
            data["pre_hook"] = list(self.pre_hook)
        if self.post_hook:
            data["post_hook"] = list(self.post_hook)
        return data

    def check(self, path: str) -> None:
        """Cross-key rules, checked once all layers are applied."""
        if self.materialized != "incremental":
            return
        if self.strategy in ("merge", "delete+insert") and not self.unique_key:
            raise ConfigError(
                f"incremental_strategy '{self.strategy}' needs a unique_key",
                where=self.where.get("incremental_strategy", path),
                hint="add unique_key='id' (one column or a list) or use incremental_strategy='append'",
            )


def _validated(key: str, value: Any, where: str) -> Any:
    if key in _LIST_KEYS:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key} must be a name or a list of names", where=where)
        return list(value)
    if key == "materialized":
        return _choice(key, value, MATERIALIZATIONS, where)
    if key == "incremental_strategy":
        return _choice(key, value, STRATEGIES, where)
    if key == "format":
        return _choice(key, value, ("delta", "iceberg"), where)
    if key == "enabled" and not isinstance(value, bool):
        raise ConfigError("enabled must be true or false", where=where, hint=f"got {value!r}")
    return value


def _choice(key: str, value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value in allowed:
        return str(value)
    hint = did_you_mean(str(value), allowed) or f"use one of {', '.join(allowed)}"
    raise ConfigError(f"unknown {key} '{value}'", where=where, hint=hint)


def folder_defaults(models: ModelsConfig, path: PurePosixPath) -> list[tuple[str, dict[str, Any]]]:
    """The duckpipe.yml layers that apply to a model file, most general first.

    ``paths`` keys are folders under ``models/`` (``marts``, ``marts/finance``) or
    include the prefix (``models/marts``).
    """
    layers = [("duckpipe.yml models.defaults", models.defaults.model_dump(exclude_none=True))]
    folder = path.parent.parts[1:] if path.parts[:1] == ("models",) else path.parent.parts
    matches = []
    for key, defaults in models.paths.items():
        parts = PurePosixPath(key.strip("/")).parts
        parts = parts[1:] if parts[:1] == ("models",) else parts
        if tuple(folder[: len(parts)]) == parts:
            matches.append((len(parts), key, defaults))
    for _, key, defaults in sorted(matches, key=lambda m: m[0]):
        layers.append((f"duckpipe.yml models.paths.{key}", defaults.model_dump(exclude_none=True)))
    return layers


def header_config(sql: str, path: str) -> tuple[dict[str, Any], dict[str, int]]:
    """Settings from the leading ``-- key: value`` comment lines, and the line of each."""
    import yaml

    from duckpipe.core.yaml import construct_unique

    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for number, raw in enumerate(sql.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("--"):
            break
        key, sep, rest = line[2:].strip().partition(":")
        key = key.strip()
        if not sep or " " in key:
            continue
        if key not in KNOWN_KEYS:
            close = did_you_mean(key, KNOWN_KEYS)
            if close and key not in DBT_KEYS:
                raise ConfigError(
                    f"unknown model setting '{key}'", where=f"{path}:{number}", hint=close
                )
            continue
        if key in lines:
            raise ConfigError(
                f"duplicate model setting '{key}' (first at line {lines[key]}, again at line "
                f"{number}); only one value can apply",
                where=f"{path}:{number}",
                hint=f"merge the two '-- {key}:' lines into one, or delete the one you do not mean",
            )
        try:
            node = yaml.compose(rest, Loader=yaml.SafeLoader) if rest.strip() else None
        except yaml.YAMLError:
            raise ConfigError(
                f"cannot read the value of '{key}'",
                where=f"{path}:{number}",
                hint="write a name, a list like [a, b], true or false",
            ) from None
        values[key] = construct_unique(
            node, file=path, error=ConfigError, first_line=number, at=(key,)
        )
        lines[key] = number
    return values, lines
