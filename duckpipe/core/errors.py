"""One exception tree for duckpipe.

Every error says what went wrong, where (a file and line, a table, a column, an
offset) and how to fix it. ``retryable`` tells the retry layer whether trying
again can help; only transient failures are retried.

>>> err = ConfigError("unknown key 'sorces'", where="duckpipe.yml:3", hint="did you mean 'sources'?")
>>> str(err)
"duckpipe.yml:3: unknown key 'sorces' (hint: did you mean 'sources'?)"
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DuckpipeError(Exception):
    """Base of every error duckpipe raises on purpose."""

    exit_code: int = 1
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        if retryable is not None:
            self.retryable = retryable
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class ConfigError(DuckpipeError):
    """duckpipe.yml or another project file is invalid."""

    exit_code = 2


class ProjectError(DuckpipeError):
    """The project on disk is inconsistent: unknown names, cycles, bad files."""

    exit_code = 2


class SourceError(DuckpipeError):
    """Extracting from a source failed."""


class TransientSourceError(SourceError):
    """A source failure that may succeed when retried (connection lost, timeout)."""

    retryable = True


class ContractError(DuckpipeError):
    """Data broke a source contract in a way that stops the run (schema freeze)."""


class ModelError(DuckpipeError):
    """A SQL model failed to compile or to run."""


class QualityError(DuckpipeError):
    """A quality check could not be parsed or run (not a failing check)."""


class QualityGateFailed(DuckpipeError):
    """A check of severity fail blocked a publish."""


class SinkError(DuckpipeError):
    """Writing to or reading from a lake table failed."""


class ColumnTypeError(SinkError):
    """Incoming data has a column whose type the existing table's column cannot hold."""


class CommitConflict(SinkError):
    """Another writer committed first; the write may be retried."""

    retryable = True


class StreamError(DuckpipeError):
    """The streaming loop failed."""


class StreamFenced(StreamError):
    """Another instance of the stream took over; this one must stop without committing."""

    exit_code = 3


class MissingDependency(DuckpipeError):
    """An optional package is needed for this feature."""

    def __init__(self, package: str, extra: str | None = None, *, feature: str) -> None:
        install = f"pip install 'duckpipe[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{feature} needs the package '{package}'", hint=f"run: {install}")


def did_you_mean(name: str, candidates: Iterable[str], *, limit: int = 3) -> str | None:
    """A 'did you mean' hint for a misspelt ``name``, or None when nothing is close.

    >>> did_you_mean("ordrs", ["orders", "customers"])
    "did you mean 'orders'?"
    """
    close = difflib.get_close_matches(name, list(candidates), n=limit, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
