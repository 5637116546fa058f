"""A throw-away PostgreSQL cluster from the machine's PostgreSQL binaries.

initdb refuses to run as root, so as root every server command runs as the
``postgres`` user through ``runuser``. The cluster lives in a temporary directory
(data, unix socket, log), listens on 127.0.0.1 on a free port, and trades durability
for speed (``fsync=off``): it exists for one test session.

    with PostgresService.launch() as pg:
        print(pg.uri)   # postgresql://duckpipe:duckpipe@127.0.0.1:PORT/duckpipe
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tests.services.process import (
    ManagedProcess,
    ServiceError,
    apt_install,
    run_checked,
)
from tests.services.service import Service

OS_USER = "postgres"
SERVER_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "wal_level": "logical",
    "max_replication_slots": "8",
    "max_wal_senders": "8",
    "max_connections": "100",
}


def find_postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin with initdb, else initdb on PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def install_postgres() -> Path:
    """Make sure PostgreSQL's server binaries exist (apt-get when missing)."""
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        apt_install("postgresql")
        bin_dir = find_postgres_bin()
    if bin_dir is None:
        raise ServiceError("postgresql was installed but initdb is still not found")
    return bin_dir


def _as_postgres(argv: list[str]) -> list[str]:
    """Run as the postgres OS user when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", OS_USER, "--", *argv]


@dataclass
class PostgresService(Service):
    """A running PostgreSQL server; ``uri`` connects over TCP with a password."""

    kind: ClassVar[str] = "pg"
    user: str = "duckpipe"
    password: str = "duckpipe"
    dbname: str = "duckpipe"

    @property
    def uri(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _setup(self) -> None:
        bin_dir = find_postgres_bin()
        if bin_dir is None:
            raise ServiceError(
                "PostgreSQL binaries not found (looked in /usr/lib/postgresql/*/bin and PATH); "
                "run `python -m tests.services install`"
            )
        self._bin = bin_dir
        if os.geteuid() == 0:
            account = pwd.getpwnam(OS_USER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:
            os.chown(password_file, account.pw_uid, account.pw_gid)
        try:
            run_checked(
                _as_postgres(
                    [
                        str(bin_dir / "initdb"),
                        f"--pgdata={self.data_dir}",
                        f"--username={self.user}",
                        f"--pwfile={password_file}",
                        "--auth-local=trust",
                        "--auth-host=scram-sha-256",
                        "--encoding=UTF8",
                        "--locale=C",
                        "--no-sync",
                        "--no-instructions",
                    ]
                ),
                "initdb",
            )
        finally:
            password_file.unlink()
        argv = [str(bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        argv += [
            "-c",
            f"listen_addresses={self.host}",
            "-c",
            f"unix_socket_directories={self.root}",
        ]
        for key, value in SERVER_SETTINGS.items():
            argv += ["-c", f"{key}={value}"]
        self._process = ManagedProcess(
            "postgres",
            _as_postgres(argv),
            self.root / "postgres.log",
            # runuser forwards signals with a delay; a fast shutdown goes to the postmaster.
            stop_signal=signal.SIGINT,
            stop_pid=self._postmaster_pid,
        )

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def _is_ready(self) -> bool:
        result = run_checked(
            [str(self._bin / "pg_isready"), "-h", self.host, "-p", str(self.port), "-t", "1"],
            "pg_isready",
        )
        return "accepting connections" in result

    def _after_first_start(self) -> None:
        run_checked(
            [
                str(self._bin / "createdb"),
                f"--host={self.root}",
                f"--port={self.port}",
                f"--username={self.user}",
                self.dbname,
            ],
            "createdb",
        )
