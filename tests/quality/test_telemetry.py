"""soda-core's usage telemetry is off: no network call, no settings file written to the user's home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, socket, sys
events = []
def hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "http.client.connect"):
        events.append([event, repr(args)[:200]])
sys.addaudithook(hook)

import duckdb
from duckpipe.quality.scanner import SodaScan, telemetry_enabled
con = duckdb.connect()
con.execute("create table orders as select range as id from range(5)")
with SodaScan(con) as scan:
    scan.add("checks for orders:\n  - row_count = 5\n  - missing_count(id) = 0\n", "checks/orders")
    outcomes = [c.outcome.value for c in scan.execute().checks]

import opentelemetry.trace
provider = type(opentelemetry.trace.get_tracer_provider()).__name__
print(json.dumps({"events": events, "outcomes": outcomes, "telemetry": telemetry_enabled(), "provider": provider}))
"""


def test_a_scan_makes_no_network_call_and_writes_no_home_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".soda").mkdir(parents=True)
    # a user who once opted in: duckpipe still keeps telemetry off
    (home / ".soda" / "config.yml").write_text(
        "send_anonymous_usage_stats: true\nuser_cookie_id: x\n"
    )
    fresh_home = tmp_path / "fresh"
    fresh_home.mkdir()
    for each in (home, fresh_home):
        env = {**os.environ, "HOME": str(each)}
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(out.stdout.strip().splitlines()[-1])
        assert report == {
            "events": [],
            "outcomes": ["pass", "pass"],
            "telemetry": False,
            "provider": "ProxyTracerProvider",
        }
    assert not (fresh_home / ".soda").exists()
    assert (
        (home / ".soda" / "config.yml").read_text().startswith("send_anonymous_usage_stats: true")
    )
