"""What every test service shares: launch, start/stop/kill, readiness, clean-up.

A concrete service is a dataclass (host, port and a temporary ``root`` folder come
from here) that sets up its files in ``_setup`` (once), says
when it is ready in ``_is_ready``, and may do one-time work after its first start in
``_after_first_start``. ``stop()`` then ``start()`` restarts it on the same port with
the same data, which is how tests exercise reconnects and retries.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

from tests.services.process import LOOPBACK, ManagedProcess, ServiceError, free_port


@dataclass
class Service:
    kind: ClassVar[str] = "service"
    host: str = LOOPBACK
    port: int = field(default_factory=free_port)
    root: Path = Path()
    """Folder for the service's data and log; a new temporary folder by default."""
    start_timeout: float = 60.0
    startup_seconds: float = field(default=0.0, init=False)
    """Seconds from process start to ready, measured on the last ``start()``."""
    _process: ManagedProcess | None = field(default=None, init=False, repr=False)
    _started_once: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.root == Path():
            self.root = Path(tempfile.mkdtemp(prefix=f"duckpipe-{self.kind}-"))

    @classmethod
    def launch(cls, **kwargs: Any) -> Self:
        """Create the service's files, start it and wait until it is ready."""
        service = cls(**kwargs)
        try:
            service._setup()
            service.start()
        except BaseException:
            service.close()
            raise
        return service

    def _setup(self) -> None:
        raise NotImplementedError

    def _is_ready(self) -> bool:
        raise NotImplementedError

    def _after_first_start(self) -> None:
        """One-time work once the service first answers (create a database, ...)."""

    @property
    def process(self) -> ManagedProcess:
        if self._process is None:
            raise ServiceError(f"{type(self).__name__} was not set up; use .launch()")
        return self._process

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def start(self) -> None:
        """Start (or restart after stop/kill) on the same port and data; wait until ready."""
        if self.running:
            return
        self.process.start()
        self.startup_seconds = self.process.wait_until(self._is_ready, self.start_timeout, "ready")
        if not self._started_once:
            self._after_first_start()
            self._started_once = True

    def stop(self) -> None:
        """Shut down cleanly; the data stays for the next ``start()``."""
        if self._process is not None:
            self._process.stop()

    def kill(self) -> None:
        """SIGKILL the service's whole process group (a crash); ``start()`` recovers."""
        if self._process is not None:
            self._process.kill()

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    def close(self) -> None:
        """Stop and delete every file the service made."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
