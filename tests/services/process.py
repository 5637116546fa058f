"""Child processes behind the test services.

Every service runs in its own session (process group) so that stop and kill reach the
whole tree, writes its output to a log file whose tail goes into every start-up error,
and is killed when the Python process that started it exits: by ``atexit`` on a normal
exit, and by the kernel's parent-death signal (``setpriv --pdeathsig``) when that
process is killed outright. The parent-death signal follows the *thread* that started
the child, so start services from the main thread.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil

LOOPBACK = "127.0.0.1"


class ServiceError(RuntimeError):
    """A test service could not be installed, started or reached."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.25) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or a note that it is empty."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(log {path} is empty)"


def run_checked(argv: Sequence[str], what: str, env: Mapping[str, str] | None = None) -> str:
    """Run a short command; on failure raise ServiceError with its output."""
    result = subprocess.run(
        list(argv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ServiceError(f"{what} failed (exit {result.returncode}): {' '.join(argv)}\n{output}")
    return result.stdout


def apt_install(*packages: str) -> None:
    """Install Debian packages (needs root); used only when a binary is missing."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ServiceError(
            f"missing {' '.join(packages)}: install them with your package manager "
            f"(e.g. `sudo apt-get install -y {' '.join(packages)}`)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run_checked(["apt-get", "update", "-q"], "apt-get update", env)
    run_checked(["apt-get", "install", "-y", "-q", *packages], "apt-get install", env)


_RUNNING: set[ManagedProcess] = set()


class ManagedProcess:
    """One long-running child: started in its own session, logged, stopped as a group."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        stop_pid: Callable[[], int | None] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.stop_signal = stop_signal
        self._stop_pid = stop_pid
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        if self.running:
            return
        prefix = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                prefix + self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        _RUNNING.add(self)

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> float:
        """Poll ``ready`` until it returns True; return the seconds it took.

        Raises ServiceError (with the log tail) when the process exits or time runs out.
        """
        started = time.monotonic()
        delay = 0.05
        last_error = "no answer yet"
        while True:
            if self._popen is None or self._popen.poll() is not None:
                code = None if self._popen is None else self._popen.returncode
                raise ServiceError(
                    f"{self.name} exited (code {code}) before it was {what}; "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            try:
                if ready():
                    return time.monotonic() - started
            except Exception as error:  # not up yet: refused, timed out, half started
                last_error = f"{type(error).__name__}: {error}"
            if time.monotonic() - started > timeout:
                self.kill()
                raise ServiceError(
                    f"{self.name} was not {what} within {timeout:.0f}s "
                    f"(last readiness check: {last_error}); "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the service to shut down cleanly; kill the group if it does not in time."""
        if self._popen is None:
            return
        if self._popen.poll() is None:
            target = (self._stop_pid() if self._stop_pid else None) or self._popen.pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, self.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=timeout)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the service and every process it started, as a crash would."""
        if self._popen is None:
            return
        leader = self._popen.pid
        # Descendants first, while the leader can still reap them: a postmaster killed
        # under a live runuser is reaped at once, so its pid is free for the restart.
        # Postgres backends call setsid(), so the process group alone misses them.
        _kill_and_wait(_descendants(leader))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(leader, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout=10)
        _RUNNING.discard(self)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _kill_and_wait(processes: list[psutil.Process], timeout: float = 10.0) -> None:
    """SIGKILL the processes; wait until each is gone or a zombie (it holds nothing then)."""
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    deadline = time.monotonic() + timeout
    for process in processes:
        while time.monotonic() < deadline:
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.01)


@atexit.register
def _stop_everything() -> None:
    for process in list(_RUNNING):
        with contextlib.suppress(Exception):
            process.stop(timeout=10)
