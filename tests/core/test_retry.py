import pytest

from duckpipe.config import RetryConfig
from duckpipe.core.console import Console
from duckpipe.core.errors import SourceError, TransientSourceError
from duckpipe.core.retry import call_with_retry, is_transient

FAST = RetryConfig(attempts=4, initial_delay=0.01, max_delay=0.02, max_elapsed=10)


class Recorder(Console):
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []
        self.warnings: list[str] = []

    def event(self, kind, /, **fields):
        self.events.append((kind, fields))

    def warn(self, message):
        self.warnings.append(message)


def flaky(failures: list[Exception]):
    calls = []

    def attempt():
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "done"

    return attempt, calls


def test_transient_failures_are_retried_then_succeed():
    console = Recorder()
    attempt, calls = flaky([TransientSourceError("connection refused"), ConnectionResetError()])
    assert call_with_retry(attempt, FAST, what="sources.x", console=console) == "done"
    assert len(calls) == 3
    retries = [f for k, f in console.events if k == "retry"]
    assert [r["attempt"] for r in retries] == [1, 2]
    assert all(r["delay"] <= FAST.max_delay + FAST.initial_delay for r in retries)
    assert "attempt 1 failed (connection refused)" in console.warnings[0]


def test_permanent_errors_fail_at_once():
    attempt, calls = flaky([SourceError("syntax error at or near 'SELEC'")])
    with pytest.raises(SourceError, match="syntax error"):
        call_with_retry(attempt, FAST, what="sources.x")
    assert len(calls) == 1


def test_giving_up_names_the_attempts_and_the_last_error():
    console = Recorder()
    attempt, calls = flaky([TransientSourceError(f"down {i}") for i in range(10)])
    with pytest.raises(SourceError) as err:
        call_with_retry(attempt, FAST, what="sources.orders", console=console)
    assert len(calls) == 4
    assert "gave up after 4 attempts" in str(err.value)
    assert "down 3" in str(err.value)
    assert err.value.where == "sources.orders"
    assert console.events[-1][0] == "retry_gave_up"


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TransientSourceError("x"), True),
        (SourceError("x"), False),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (OSError("server closed the connection unexpectedly"), True),
        (ValueError("invalid literal"), False),
    ],
)
def test_what_counts_as_transient(error, transient):
    assert is_transient(error) is transient
