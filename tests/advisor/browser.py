"""Headless Chromium (Debian's ``chromium`` package) for rendering the HTML report.

``chromium_binary()`` finds it, installing the package with apt-get when it is
missing and this process may do so (root, apt-get on PATH). CI installs it up front:
``apt-get install -y chromium``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")


def chromium_binary() -> str:
    """The path of a Chromium binary, installed from Debian's packages if needed."""
    found = _find()
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise RuntimeError(
            "Chromium is not installed and cannot be installed here: "
            "run `apt-get install -y chromium` as root"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        [apt, "install", "-y", "-q", "chromium"], check=True, env=env, capture_output=True
    )
    found = _find()
    if not found:
        raise RuntimeError("apt-get installed chromium but no binary was found")
    return found


def _find() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name) or (name if os.path.isfile(name) else None)
        if path:
            return path
    return None


def _chromium(html_file: Path, *args: str, timeout: float) -> str:
    """Run headless Chromium on ``html_file`` with the network off; its standard output."""
    with tempfile.TemporaryDirectory(prefix="duckpipe-chromium-") as profile:
        result = subprocess.run(
            [
                chromium_binary(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--proxy-server=127.0.0.1:9",  # any request would fail: the page needs none
                f"--user-data-dir={profile}",
                *args,
                html_file.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    return result.stdout


def render_dom(html_file: Path, *, timeout: float = 120) -> str:
    """The DOM of ``html_file`` after Chromium rendered it."""
    return _chromium(html_file, "--dump-dom", timeout=timeout)


def screenshot(html_file: Path, png: Path, *, timeout: float = 120) -> None:
    """A PNG of the rendered page."""
    _chromium(html_file, "--window-size=1200,2400", f"--screenshot={png}", timeout=timeout)
