"""A Kafka broker that cannot be reached: since when, what to say, and when to give up.

A long-running stream keeps trying (capped exponential backoff) unless ``give_up_after``
is set; ``--once`` (a backfill, a test run) gives up after ``ONCE_GIVE_UP`` by default.
Nothing that was polled is lost by giving up: the lake commit needs no broker, and the
next start reads on from the offsets stored in the lake.

>>> outage = Outage("clicks", "127.0.0.1:1", "topic clicks", give_up_after=None)
>>> outage.failed("Connection refused", now=10.0)
True
>>> outage.failed("Connection refused", now=12.5)
False
>>> round(outage.seconds(now=12.5), 1), outage.failures
(2.5, 2)
>>> outage.recovered(now=13.0)
3.0
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from duckpipe.core.errors import DuckpipeError, SourceError, StreamError, StreamFenced
from duckpipe.core.retry import Backoff, Failure, retry_transient

if TYPE_CHECKING:
    from duckpipe.config import SourceConfig
    from duckpipe.core.console import Console
    from duckpipe.streaming.status import StreamStatus

T = TypeVar("T")

ONCE_GIVE_UP = 60.0
"""Seconds ``duckpipe stream NAME --once`` keeps trying an unreachable broker."""
PROBE_EVERY = 2.0
"""Seconds between metadata requests that check whether an unreachable broker is back."""
STREAM_BACKOFF = Backoff(initial=0.2, cap=10.0)
"""Waits between a stream's attempts double from 0.2 up to 10 seconds; no attempt limit
(the outage's ``give_up_after`` ends a broker outage, a stop request the rest)."""
STOPPING_ATTEMPTS = 3
"""Failed attempts still made once the stream was asked to stop."""


def give_up_seconds(option: float | None, configured: float | None, once: bool) -> float | None:
    """``--give-up-after`` wins over ``streams.NAME.give_up_after``; then the default.

    0 means never give up. The default is ``ONCE_GIVE_UP`` with ``--once``, else never.
    """
    chosen = option if option is not None else configured
    if chosen is None:
        return ONCE_GIVE_UP if once else None
    return chosen if chosen > 0 else None


@dataclass
class Outage:
    """Failed attempts to reach the broker since the last success."""

    stream: str
    bootstrap: str
    reading: str
    """What the stream reads, for messages: ``topic clicks`` or ``topics matching 'a.*'``."""
    give_up_after: float | None = None
    since: float | None = None
    failures: int = 0
    last_error: str = ""

    @property
    def active(self) -> bool:
        return self.since is not None

    def failed(
        self,
        error: str,
        *,
        now: float | None = None,
        attempted: float | None = None,
        give_up: bool = True,
    ) -> bool:
        """Count a failure; True when it starts an outage. Raises once it is time to give up
        (with ``give_up``; a client callback must not raise, the loop checks later).

        ``attempted``: when the failed attempt began (an attempt may block for seconds).
        """
        now = time.monotonic() if now is None else now
        started = self.since is None
        if started:
            self.since = min(now, attempted) if attempted is not None else now
        self.failures += 1
        self.last_error = error
        if give_up:
            self.check(now=now)
        return started

    def recovered(self, *, now: float | None = None) -> float | None:
        """End the outage; how long it lasted (None when there was none)."""
        if self.since is None:
            return None
        lasted = self.seconds(now=now)
        self.since, self.failures, self.last_error = None, 0, ""
        return lasted

    def seconds(self, *, now: float | None = None) -> float:
        if self.since is None:
            return 0.0
        return (time.monotonic() if now is None else now) - self.since

    def left(self, *, now: float | None = None) -> float | None:
        """Seconds until giving up (None: never)."""
        if self.give_up_after is None:
            return None
        return max(0.0, self.give_up_after - self.seconds(now=now))

    def check(self, *, now: float | None = None) -> None:
        """Raise ``StreamError`` when the broker has been unreachable for ``give_up_after``."""
        if self.since is None or self.give_up_after is None:
            return
        lasted = self.seconds(now=now)
        if lasted < self.give_up_after:
            return
        attempts = f"{self.failures} failed attempt" + ("" if self.failures == 1 else "s")
        raise StreamError(
            f"gave up after {lasted:.0f}s: the Kafka broker at {self.bootstrap} could not be "
            f"reached for {self.reading} ({attempts}; last error: {self.last_error})",
            where=f"streams.{self.stream}",
            hint=(
                "check that the broker is running and reachable from here at the address in the "
                "source's uri (kafka://host:port; the broker's advertised.listeners must be "
                "reachable too); nothing was lost: the next start reads on from the lake's "
                "offsets. --give-up-after / give_up_after sets how long to keep trying"
            ),
        )

    def started_message(self) -> str:
        then = (
            f"gives up after {self.give_up_after:g}s"
            if self.give_up_after
            else "keeps trying until stopped"
        )
        return (
            f"Kafka broker {self.bootstrap} unreachable ({self.last_error}); "
            f"reconnecting with backoff, {then}"
        )

    def describe(self) -> str:
        """For the status line: ``broker down 12s (7 attempts)``; empty when reachable."""
        if self.since is None:
            return ""
        return f"broker down {self.seconds():.0f}s ({self.failures} attempts)"


def _retryable(exc: BaseException) -> bool:
    """A stream retries duckpipe's transient failures, never a fenced instance's."""
    return isinstance(exc, DuckpipeError) and exc.retryable and not isinstance(exc, StreamFenced)


class Reconnector:
    """Retries a stream's calls and reports the broker's outages on the console and status line.

    Kafka failures (``SourceError``) count towards the outage, which ends the stream once
    it lasts ``outage.give_up_after``; other transient failures (a lake commit conflict)
    are retried until the stream is stopped.
    """

    EVENT_EVERY = 5.0
    """Seconds between ``broker_unreachable`` events while the broker stays away."""

    def __init__(
        self,
        stream: str,
        source: SourceConfig,
        status: StreamStatus,
        stop_requested: Callable[[], bool],
    ) -> None:
        self.outage = Outage(stream, *_reading(stream, source))
        self.status = status
        self.stop_requested = stop_requested
        self.console: Console | None = None
        self._warned: set[str] = set()
        self._last_event = 0.0

    def retrying(self, attempt: Callable[[], T], what: str) -> T:
        """Run ``attempt`` under ``STREAM_BACKOFF`` until it succeeds, the outage gives up or
        the stream is stopped (after ``STOPPING_ATTEMPTS`` more failures)."""
        failures = 0

        def on_failure(failure: Failure) -> float:
            nonlocal failures
            failures = failure.attempt
            exc = failure.error
            assert isinstance(exc, DuckpipeError)
            if self.stop_requested() and failures > STOPPING_ATTEMPTS:
                raise StreamError(
                    f"stopped while {what} kept failing: {exc}",
                    hint="nothing was committed for the current batch; the next start re-reads it",
                ) from exc
            delay = failure.delay
            if isinstance(exc, SourceError):
                self.failed(f"{what}: {exc.message}", attempted=failure.started)
                left = self.outage.left()
                delay = delay if left is None else min(delay, left)
            else:
                self._warn_once(what, f"{what} failed ({exc}); retrying with backoff")
            if self.console is not None:
                self.console.event("retry", what=what, attempt=failures, delay=delay)
            return delay

        result = retry_transient(
            attempt, STREAM_BACKOFF, transient=_retryable, on_failure=on_failure
        )
        if failures:
            self._warned.discard(what)
            if self.outage.active:
                self.reachable()
            elif self.console is not None:
                self.console.info(f"{what}: recovered after {failures} failed attempts")
        return result

    def failed(self, error: str, *, attempted: float | None = None, give_up: bool = True) -> None:
        """A Kafka call failed or the client lost its broker; raises when it is time to give up."""
        if self.outage.failed(error, attempted=attempted, give_up=give_up):
            self._warn_once("broker", self.outage.started_message())
        self.status.outage = self.outage.describe()
        now = time.monotonic()
        if self.console is not None and now - self._last_event >= self.EVENT_EVERY:
            self._last_event = now
            self.console.event(
                "broker_unreachable",
                stream=self.outage.stream,
                bootstrap=self.outage.bootstrap,
                seconds=round(self.outage.seconds(), 1),
                attempts=self.outage.failures,
                error=error,
            )

    def client_error(self, message: str, outage: bool = True) -> None:
        """The Kafka client's error callback: never raises inside the client.

        ``outage=False``: a failure that does not mean the broker is away (a group offset
        commit, which is for lag monitoring only) is only reported.
        """
        if outage:
            self.failed(f"Kafka: {message}", give_up=False)
        else:
            self._warn_once(message.split(":")[0], f"Kafka: {message}")

    def check(self) -> None:
        """Give up now if the outage has lasted long enough (nothing else may be failing)."""
        self.outage.check()
        if self.outage.active:
            self.status.outage = self.outage.describe()

    def reachable(self) -> None:
        """Kafka answered: an outage, if there was one, is over."""
        lasted = self.outage.recovered()
        if lasted is None:
            return
        self.status.outage = ""
        self._warned.discard("broker")
        self._last_event = 0.0
        if self.console is not None:
            self.console.info(
                f"Kafka broker {self.outage.bootstrap} reachable again after {lasted:.1f}s"
            )
            self.console.event(
                "broker_reachable", stream=self.outage.stream, seconds=round(lasted, 1)
            )

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned and self.console is not None:
            self._warned.add(key)
            self.console.warn(message)


def _reading(stream: str, source: SourceConfig) -> tuple[str, str]:
    """(bootstrap servers, what the stream reads) for messages."""
    from duckpipe.kafka.settings import bootstrap_of

    bootstrap, path_topics = bootstrap_of(source.uri, where=f"streams.{stream}.source")
    topics = list(source.topics or path_topics)
    if source.topic_pattern and not topics:
        return bootstrap, f"topics matching '{source.topic_pattern}'"
    return bootstrap, ("topic " if len(topics) == 1 else "topics ") + ", ".join(topics)
