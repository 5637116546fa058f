"""The conftest rules, checked in a separate pytest run over a small generated test file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _pytest(tmp_path: Path, test_source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_generated.py").write_text(test_source)
    options = ["-p", "tests.conftest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *options,
            "-c",
            str(REPO / "pyproject.toml"),
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_a_service_fixture_without_its_marker_errors_the_test(tmp_path: Path) -> None:
    result = _pytest(tmp_path, "def test_forgot_the_marker(s3_service):\n    assert s3_service\n")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "uses the s3_service fixture but is not marked" in result.stdout
    assert "add @pytest.mark.s3" in result.stdout
    assert "1 error" in result.stdout  # fails in setup, before the service starts
    assert "moto" not in result.stdout


def test_a_service_a_test_stopped_is_running_again_for_the_next_test(tmp_path: Path) -> None:
    source = """\
import pytest

ports = []

@pytest.mark.s3
def test_stops_the_server(s3_service):
    ports.append(s3_service.port)
    s3_service.stop()
    assert not s3_service.running

@pytest.mark.s3
def test_finds_it_running_on_the_same_port(s3_service, s3_bucket):
    assert s3_service.running
    assert ports == [s3_service.port]
    assert s3_service.client().list_objects_v2(Bucket=s3_bucket)["KeyCount"] == 0
"""
    result = _pytest(tmp_path, source)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
