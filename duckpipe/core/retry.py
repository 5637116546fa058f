"""The one transient-failure policy: exponential backoff (tenacity), for transient failures only.

A failure is transient when trying again can help: the server refused or dropped the
connection, it is restarting, a serialization conflict or a timeout. SQL, permission
and data errors fail at once: retrying them only delays the same error.

``retry_transient`` is the loop every retrying caller uses (a source's extraction, a
stream's Kafka and lake calls); ``call_with_retry`` is that loop under a source's
``retry:`` settings, giving up with a ``SourceError``.

>>> Backoff(initial=0.2, cap=10.0).delays(5)
[0.2, 0.4, 0.8, 1.6, 3.2]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from duckpipe.core.errors import DuckpipeError, SourceError

if TYPE_CHECKING:
    import tenacity

    from duckpipe.core.console import Console

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


class RetrySettings(Protocol):
    """A source's ``retry:`` settings (``config.RetryConfig``)."""

    attempts: int
    initial_delay: float
    max_delay: float
    max_elapsed: float


@dataclass(frozen=True)
class Backoff:
    """Waits between attempts: ``initial`` seconds, doubling up to ``cap``, plus up to
    ``jitter`` random seconds; at most ``attempts`` tries within ``max_elapsed`` seconds
    (None: no limit)."""

    initial: float
    cap: float
    jitter: float = 0.0
    attempts: int | None = None
    max_elapsed: float | None = None

    def wait(self) -> tenacity.wait.wait_base:
        import tenacity

        return tenacity.wait_exponential_jitter(
            multiplier=self.initial, max=self.cap, jitter=self.jitter
        )

    def stop(self) -> tenacity.stop.stop_base:
        import tenacity

        stop: tenacity.stop.stop_base = tenacity.stop_never
        if self.attempts is not None:
            stop = stop | tenacity.stop_after_attempt(self.attempts)
        if self.max_elapsed is not None:
            stop = stop | tenacity.stop_after_delay(self.max_elapsed)
        return stop

    def delays(self, n: int) -> list[float]:
        """The first ``n`` waits without jitter (for messages and tests)."""
        return [min(self.initial * 2**i, self.cap) for i in range(n)]


@dataclass
class Failure:
    """A failed attempt that will be retried, as ``on_failure`` sees it."""

    attempt: int
    """Failed attempts so far (1 for the first)."""
    error: BaseException
    started: float
    """``time.monotonic()`` when the failed attempt began (an attempt may block for seconds)."""
    delay: float
    """Seconds the policy waits before the next attempt."""


@dataclass
class GaveUp:
    """The last failed attempt when the policy's limits ran out."""

    attempts: int
    error: BaseException
    elapsed: float


def retry_transient(
    attempt: Callable[[], T],
    backoff: Backoff,
    *,
    transient: Callable[[BaseException], bool] = is_transient,
    on_failure: Callable[[Failure], float] | None = None,
    gave_up: Callable[[GaveUp], BaseException] | None = None,
) -> T:
    """Run ``attempt``; after a ``transient`` failure wait as ``backoff`` says and run it again.

    Other failures are raised at once. ``on_failure`` sees each failure before the wait
    and returns the wait to use (the policy's, or shorter); it may raise to stop
    retrying. When the limits of ``backoff`` run out, the error ``gave_up`` builds is
    raised from the last failure (without ``gave_up``: the last failure itself).
    """
    import tenacity

    started = time.monotonic()
    began = [started]
    policy_wait = backoff.wait()

    def timed() -> T:
        began[0] = time.monotonic()
        return attempt()

    def wait(state: tenacity.RetryCallState) -> float:
        delay = policy_wait(state)
        if on_failure is None or state.outcome is None:
            return delay
        error = state.outcome.exception()
        assert error is not None
        return on_failure(Failure(state.attempt_number, error, began[0], delay))

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(transient),
        stop=backoff.stop(),
        wait=wait,
        reraise=gave_up is None,
    )
    try:
        return retrying(timed)
    except tenacity.RetryError as stopped:
        assert gave_up is not None
        last = stopped.last_attempt.exception()
        assert last is not None
        given_up = GaveUp(stopped.last_attempt.attempt_number, last, time.monotonic() - started)
        raise gave_up(given_up) from last


def call_with_retry(
    attempt: Callable[[], T],
    policy: RetrySettings,
    *,
    what: str,
    console: Console | None = None,
) -> T:
    """Run ``attempt``; on a transient failure wait (exponential, jittered) and run it again.

    Gives up after ``policy.attempts`` tries or ``policy.max_elapsed`` seconds with a
    ``SourceError`` that names ``what`` and carries the last failure.
    """
    backoff = Backoff(
        initial=policy.initial_delay,
        cap=policy.max_delay,
        jitter=policy.initial_delay,
        attempts=policy.attempts,
        max_elapsed=policy.max_elapsed,
    )

    def log_retry(failure: Failure) -> float:
        if console is not None:
            error = _first_line(failure.error)
            console.warn(
                f"{what}: attempt {failure.attempt} failed ({error}); "
                f"retrying in {failure.delay:.1f}s"
            )
            console.event(
                "retry",
                what=what,
                attempt=failure.attempt,
                delay=round(failure.delay, 3),
                error=error,
            )
        return failure.delay

    def give_up(last: GaveUp) -> SourceError:
        if console is not None:
            console.event(
                "retry_gave_up", what=what, attempts=last.attempts, error=_first_line(last.error)
            )
        return SourceError(
            f"gave up after {last.attempts} attempts in {last.elapsed:.1f}s: {last.error}",
            where=what,
            hint="the source kept failing with a transient error; check that it is up, "
            "or raise retry.attempts / retry.max_elapsed",
        )

    return retry_transient(attempt, backoff, on_failure=log_retry, gave_up=give_up)


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if error and str(error).strip() else repr(error)
