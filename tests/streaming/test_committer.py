"""Batches are decoded ahead while the one before commits; commits stay in order, and
nothing after a failed batch is committed."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest

from duckpipe.streaming.committer import Committer, Job

WAIT = 10.0


class Steps:
    """The pipeline's side of the committer, recording what ran in which order."""

    name = "s"

    def __init__(self) -> None:
        self.log: list[str] = []
        self.lock = threading.Lock()
        self.status = SimpleNamespace(add=lambda n: None)
        self.decode_hooks: dict[int, Any] = {}
        self.commit_hooks: dict[int, Any] = {}

    def note(self, entry: str) -> None:
        with self.lock:
            self.log.append(entry)

    def decode(self, records: pa.Table) -> str:
        n = records.column("n")[0].as_py()
        self.note(f"decode {n}")
        if n in self.decode_hooks:
            self.decode_hooks[n]()
        return f"decoded {n}"

    def process(self, records: pa.Table, *, decoded: str, **_: Any) -> tuple[int, str]:
        return records.column("n")[0].as_py(), decoded

    def retrying(self, action: Any, what: str) -> Any:
        return action()

    def commit(self, result: tuple[int, str], end: Any, replaying: bool, group: Any) -> None:
        n, decoded = result
        assert decoded == f"decoded {n}"
        if n in self.commit_hooks:
            self.commit_hooks[n]()
        self.note(f"commit {n}")


def job(n: int) -> Job:
    return Job(pa.table({"n": [n]}), {("t", 0): n + 1}, False, None, None)


def submitted(steps: Steps, *batches: int) -> Committer:
    committer = Committer(steps)  # type: ignore[arg-type]
    for n in batches:
        committer.submit(job(n))
    return committer


def test_the_next_batch_is_decoded_while_the_one_before_commits():
    steps = Steps()
    second_decoding = threading.Event()
    steps.decode_hooks[2] = second_decoding.set
    steps.commit_hooks[1] = lambda: second_decoding.wait(WAIT) or pytest.fail("no overlap")
    committer = submitted(steps, 1, 2, 3)
    committer.drain()
    assert [e for e in steps.log if e.startswith("commit")] == ["commit 1", "commit 2", "commit 3"]
    assert steps.log.index("decode 2") < steps.log.index("commit 1")
    assert committer.take_committed() == {("t", 0): 4}


def test_a_batch_that_cannot_be_decoded_stops_the_ones_after_it_not_the_one_before():
    steps = Steps()
    release_first = threading.Event()
    steps.commit_hooks[1] = lambda: release_first.wait(WAIT)

    def broken() -> None:
        release_first.set()
        raise ValueError("batch 2 is broken")

    steps.decode_hooks[2] = broken
    committer = submitted(steps, 1, 2)
    with pytest.raises(ValueError, match="batch 2 is broken"):
        committer.submit(job(3))
    assert steps.log.count("commit 1") == 1
    assert "commit 2" not in steps.log and "decode 3" not in steps.log
    assert committer.take_committed() == {("t", 0): 2}
    committer.drain()  # the error was reported once


def test_nothing_after_a_failed_commit_is_committed():
    steps = Steps()
    second_decoded = threading.Event()
    steps.decode_hooks[2] = second_decoded.set

    def failing() -> None:
        second_decoded.wait(WAIT)
        raise RuntimeError("lake commit failed")

    steps.commit_hooks[1] = failing
    committer = submitted(steps, 1, 2)
    with pytest.raises(RuntimeError, match="lake commit failed"):
        committer.drain()
    assert "decode 2" in steps.log
    assert not [e for e in steps.log if e.startswith("commit")]
    assert committer.take_committed() is None
