"""The dbt-compatible names a model's Jinja can use: ref, source, config, var, this, ...

The functions are module globals of the Jinja environment and read the model being
rendered from a context variable, so macros compiled once see the right model.
"""

from __future__ import annotations

import contextvars
import datetime
import itertools
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from duckpipe.core.errors import ModelError, ProjectError
from duckpipe.core.sql import quote

_MISSING = object()
RUN_STARTED_AT = datetime.datetime.now(datetime.UTC)
INVOCATION_ID = str(uuid.uuid4())


@dataclass(frozen=True)
class Relation:
    """What ``ref()``, ``source()`` and ``this`` return; renders as a quoted DuckDB name."""

    identifier: str
    schema: str = "main"
    database: str = "memory"
    quoted: bool = True

    @property
    def name(self) -> str:
        return self.identifier

    @property
    def table(self) -> str:
        return self.identifier

    def render(self) -> str:
        return f'"{self.identifier}"' if self.quoted else self.identifier

    def include(self, **_: Any) -> Relation:
        return self

    def __str__(self) -> str:
        return self.render()


@dataclass
class RenderState:
    """The model being rendered and what its template asked for."""

    model: str
    path: str
    incremental: bool
    ref: Callable[[str, int], Relation]
    source: Callable[[str, str, int], Relation]
    vars: dict[str, Any]
    line_of: Callable[[], int]
    refs: list[tuple[str, int]] = field(default_factory=list)
    sources: list[tuple[str, str, int]] = field(default_factory=list)
    config: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    def where(self) -> str:
        return f"{self.path}:{self.line_of()}"


CURRENT: contextvars.ContextVar[RenderState] = contextvars.ContextVar("duckpipe_render")


def _state() -> RenderState:
    return CURRENT.get()


def ref(*args: str, **kwargs: Any) -> Relation:
    """``ref('model')``, ``ref('package', 'model')``, ``ref('model', version=2)``."""
    if not args or len(args) > 2:
        raise ProjectError("ref() takes a model name", where=_state().where())
    state = _state()
    line = state.line_of()
    state.refs.append((args[-1], line))
    return state.ref(args[-1], line)


def source(source_name: str, table_name: str) -> Relation:
    state = _state()
    line = state.line_of()
    state.sources.append((source_name, table_name, line))
    return state.source(source_name, table_name, line)


class ConfigFunction:
    """``{{ config(materialized='table') }}`` records settings; ``config.get('x')`` reads them."""

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        if args and isinstance(args[0], dict):
            kwargs = {**args[0], **kwargs}
        state = _state()
        state.config.append((kwargs, state.line_of()))
        return ""

    def _merged(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for values, _ in _state().config:
            merged.update(values)
        return merged

    def get(self, key: str, default: Any = None) -> Any:
        return self._merged().get(key, default)

    def require(self, key: str) -> Any:
        merged = self._merged()
        if key not in merged:
            raise ModelError(f"config '{key}' is required", where=_state().where())
        return merged[key]


def var(name: str, default: Any = _MISSING) -> Any:
    state = _state()
    if name in state.vars:
        return state.vars[name]
    if default is not _MISSING:
        return default
    raise ProjectError(
        f"var('{name}') is not set and has no default",
        where=state.where(),
        hint=f"add it under vars: in duckpipe.yml or write var('{name}', default)",
    )


def env_var(name: str, default: Any = _MISSING) -> Any:
    if name in os.environ:
        return os.environ[name]
    if default is not _MISSING:
        return default
    raise ProjectError(
        f"env_var('{name}') is not set and has no default",
        where=_state().where(),
        hint=f"export {name}=... or write env_var('{name}', 'default')",
    )


def is_incremental() -> bool:
    return _state().incremental


class _This:
    """``{{ this }}``: the relation of the model being rendered."""

    def _relation(self) -> Relation:
        return Relation(_state().model)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._relation(), name)

    def __str__(self) -> str:
        return str(self._relation())


def _log(message: Any, info: bool = False) -> str:
    return ""


def _raise_compiler_error(message: str) -> None:
    raise ModelError(str(message), where=_state().where())


class MacroReturn(Exception):
    """How ``{{ return(x) }}`` leaves a macro with a value (as in dbt)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _return(value: Any) -> None:
    raise MacroReturn(value)


def returning(macro: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Jinja macro so ``{{ return(x) }}`` inside it yields ``x``."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return macro(*args, **kwargs)
        except MacroReturn as ret:
            return ret.value

    return call


def dbt_globals(threads: int) -> dict[str, Any]:
    """The names every model and macro template can use."""
    return {
        "ref": ref,
        "source": source,
        "config": ConfigFunction(),
        "var": var,
        "env_var": env_var,
        "is_incremental": is_incremental,
        "this": _This(),
        "target": SimpleNamespace(
            name="duckpipe", type="duckdb", schema="main", database="memory", threads=threads
        ),
        "run_started_at": RUN_STARTED_AT,
        "invocation_id": INVOCATION_ID,
        "log": _log,
        "print": _log,
        "return": _return,
        "exceptions": SimpleNamespace(
            raise_compiler_error=_raise_compiler_error,
            warn=_log,
            raise_not_implemented=_raise_compiler_error,
        ),
        "modules": SimpleNamespace(datetime=datetime, re=re, itertools=itertools),
        "adapter": SimpleNamespace(quote=quote),
        "execute": True,
        "flags": SimpleNamespace(FULL_REFRESH=False, WHICH="run"),
    }
