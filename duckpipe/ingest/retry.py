"""Retry with exponential backoff and jitter, for transient failures only (tenacity).

A failure is transient when trying again can help: the server refused or dropped the
connection, it is restarting, a serialization conflict or a timeout. SQL, permission
and data errors fail at once: retrying them only delays the same error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from duckpipe.errors import DuckpipeError, SourceError

if TYPE_CHECKING:
    from duckpipe.config import RetryConfig
    from duckpipe.console import Console

T = TypeVar("T")

# Messages of connection-level failures from libpq, sockets and object stores.
_TRANSIENT_TEXT = (
    "connection refused",
    "connection reset",
    "server closed the connection",
    "terminating connection",
    "could not connect",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "no connection to the server",
    "timed out",
    "timeout expired",
    "broken pipe",
    "temporarily unavailable",
)


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the operation that raised ``exc`` can succeed."""
    if isinstance(exc, DuckpipeError):
        return exc.retryable
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    text = str(exc).lower()
    return any(marker in text for marker in _TRANSIENT_TEXT)


def call_with_retry(
    attempt: Callable[[], T],
    policy: RetryConfig,
    *,
    what: str,
    console: Console | None = None,
) -> T:
    """Run ``attempt``; on a transient failure wait (exponential, jittered) and run it again.

    Gives up after ``policy.attempts`` tries or ``policy.max_elapsed`` seconds with a
    ``SourceError`` that names ``what`` and carries the last failure.
    """
    import tenacity

    started = time.monotonic()

    def log_retry(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        if console is not None:
            console.warn(
                f"{what}: attempt {state.attempt_number} failed ({_first_line(error)}); "
                f"retrying in {delay:.1f}s"
            )
            console.event(
                "retry",
                what=what,
                attempt=state.attempt_number,
                delay=round(delay, 3),
                error=_first_line(error),
            )

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        stop=tenacity.stop_after_attempt(policy.attempts)
        | tenacity.stop_after_delay(policy.max_elapsed),
        wait=tenacity.wait_exponential_jitter(
            multiplier=policy.initial_delay, max=policy.max_delay, jitter=policy.initial_delay
        ),
        before_sleep=log_retry,
    )
    try:
        return retrying(attempt)
    except tenacity.RetryError as gave_up:
        last = gave_up.last_attempt.exception()
        tries = gave_up.last_attempt.attempt_number
        if console is not None:
            console.event("retry_gave_up", what=what, attempts=tries, error=_first_line(last))
        raise SourceError(
            f"gave up after {tries} attempts in {time.monotonic() - started:.1f}s: {last}",
            where=what,
            hint="the source kept failing with a transient error; check that it is up, "
            "or raise retry.attempts / retry.max_elapsed",
        ) from last


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if error and str(error).strip() else repr(error)
