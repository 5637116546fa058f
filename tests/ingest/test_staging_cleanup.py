"""Staging leftovers: a run removes its own spool folders and those of runs that are gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from duckpipe.ingest.stream import Spool
from tests.ingest.helpers import run, write_project

KILLED_RUN = """
import sys
from pathlib import Path
from duckpipe.ingest.stream import Spool
spool = Spool.run_directory(Path(sys.argv[1]), "20260101T000000-dead01") / "orders"
spool.mkdir(parents=True)
(spool / "data.arrow").write_bytes(b"half a spool")
print(spool.parent, flush=True)
sys.stdin.read()
"""


def _killed_run(staging: Path) -> Path:
    """The staging folder of a real process killed with SIGKILL while it staged."""
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(staging)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    folder = Path(child.stdout.readline().strip())
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    return folder


def test_runs_leave_no_staging_and_remove_what_killed_runs_left(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("id,amount\n1,10\n")
    project = write_project(tmp_path, {"orders": {"uri": "in/*.csv", "primary_key": "id"}})
    staging = project.state_dir / "staging"
    staging.mkdir(parents=True)
    killed = [_killed_run(staging) for _ in range(3)]
    assert all((k / "orders" / "data.arrow").exists() for k in killed)
    # a concurrent run that is alive (this process) keeps its folder
    live = Spool.run_directory(staging, "20260101T000000-live01") / "orders"
    live.mkdir(parents=True)
    # folders of an older version name no owner: removed once older than an hour
    old, recent = staging / "20260101T000000-old001", staging / "20260101T000000-new001"
    old.mkdir()
    recent.mkdir()
    an_hour_ago = time.time() - 3700
    os.utime(old, (an_hour_ago, an_hour_ago))

    assert run(project).ok
    assert not any(k.exists() for k in killed)
    assert not old.exists()
    assert live.is_dir() and recent.is_dir()
    assert sorted(p.name for p in staging.iterdir()) == sorted([live.parent.name, recent.name])

    for _ in range(3):  # reruns add nothing: a run removes its own folder when done
        assert run(project).ok
    assert sorted(p.name for p in staging.iterdir()) == sorted([live.parent.name, recent.name])
