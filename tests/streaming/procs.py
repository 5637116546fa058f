"""`duckpipe stream` as a child process, killed and restarted like a real deployment."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import pyarrow as pa

from duckpipe.kafka.backends import open_consumer
from duckpipe.kafka.positions import BEGINNING
from duckpipe.kafka.records import raw_schema
from duckpipe.kafka.settings import KafkaSettings

_SCRIPT = Path(sys.executable).parent / "duckpipe"
DUCKPIPE = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "from duckpipe.cli import main; main()"]
)


class StreamProcess:
    """One ``duckpipe stream NAME`` child in its own process group, logging to a file."""

    started: ClassVar[list[StreamProcess]] = []
    """Every process started, so that a failing test leaves none behind."""

    def __init__(self, root: Path, name: str, *args: str) -> None:
        self.root = root
        self.name = name
        self.args = args
        self.log = root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            self.proc = subprocess.Popen(
                [*DUCKPIPE, "--project", str(self.root), "stream", self.name, *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        self.starts += 1
        StreamProcess.started.append(self)

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait(30)

    def wait(self, timeout: float = 60) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(10)
            raise AssertionError(
                f"{self.name} did not exit in {timeout}s; log:\n{self.tail()}"
            ) from None

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def run_once(
    root: Path, name: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DUCKPIPE, "--project", str(root), "stream", name, "--once", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read_topic(bootstrap: str, topic: str) -> pa.Table:
    """Every committed record of ``topic`` (read_committed), as the stream sees them."""
    consumer = open_consumer(
        KafkaSettings(bootstrap=bootstrap, topics=(topic,), group_id="test-reader"),
        "confluent-kafka",
    )
    try:
        deadline = time.monotonic() + 60
        parts = consumer.partitions()
        while not parts:  # the topic's metadata may not have reached this client yet
            assert time.monotonic() < deadline, f"topic {topic} has no partitions"
            time.sleep(0.2)
            parts = consumer.partitions()
        ends = consumer.end_offsets(parts)
        consumer.assign({tp: BEGINNING for tp in parts})
        chunks = []
        while any((consumer.position(tp) or 0) < end for tp, end in ends.items() if end):
            assert time.monotonic() < deadline, "reading the topic back took too long"
            chunk = consumer.poll(1000, 0.5)
            if chunk is not None:
                chunks.append(chunk)
    finally:
        consumer.close()
    return pa.concat_tables(chunks) if chunks else raw_schema().empty_table()
