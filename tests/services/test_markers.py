"""A test that uses a service without its marker fails loudly, before the service starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_service_fixture_without_its_marker_errors_the_test(tmp_path: Path) -> None:
    (tmp_path / "test_unmarked.py").write_text(
        "def test_forgot_the_marker(s3_service):\n    assert s3_service\n"
    )
    pytest_args = ["-p", "tests.conftest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *pytest_args,
            "-c",
            str(REPO / "pyproject.toml"),
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "uses the s3_service fixture but is not marked" in result.stdout
    assert "add @pytest.mark.s3" in result.stdout
    assert "1 error" in result.stdout  # fails in setup, before the service starts
