"""The CLI: one error path, init/run/dry-run/query, fast start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from duckpipe.cli import main

DUCKPIPE = [sys.executable, "-m", "duckpipe"]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DUCKPIPE, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0
    assert "duckpipe, version 0.1.0" in out.stdout


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\nfrom duckpipe.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('duckdb', 'pyarrow', 'deltalake', 'pyiceberg', 'soda', 'pandas')"
        " if m in sys.modules]\nprint('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


def test_unknown_command_suggests_a_close_one() -> None:
    out = run_cli("rnu")
    assert out.returncode == 2
    assert "did you mean 'run'" in out.stderr


def test_init_run_query_and_history(tmp_path: Path) -> None:
    assert run_cli("init", "demo", cwd=tmp_path).returncode == 0
    project = tmp_path / "demo"
    assert (project / "duckpipe.yml").is_file()

    dry = run_cli("run", "--dry-run", cwd=project)
    assert dry.returncode == 0, dry.stderr
    assert "land orders -> raw_orders" in dry.stdout
    assert "model order_payments as table" in dry.stdout
    assert not (project / "lake").exists(), "a dry run must write nothing"
    assert not (project / ".duckpipe" / "history.jsonl").exists()

    run = run_cli("run", cwd=project)
    assert run.returncode == 0, run.stderr
    assert (project / "lake" / "raw_orders" / "_delta_log").is_dir()

    query = run_cli(
        "query",
        "select count(*) as n, sum(orders) as o from customer_revenue",
        "--format",
        "json",
        cwd=project,
    )
    assert query.returncode == 0, query.stderr
    row = json.loads(query.stdout.splitlines()[0])
    assert row["n"] == 500

    history = run_cli("history", "--format", "json", cwd=project)
    runs = json.loads(history.stdout)
    assert runs[0]["status"] == "success"
    landed = {s["name"]: s["rows"] for s in runs[0]["steps"] if s["kind"] == "source"}
    assert landed == {"orders": 3000, "customers": 500, "payments": 3457, "order_events": 79}


def test_init_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("keep me")
    out = run_cli("init", "x", cwd=tmp_path)
    assert out.returncode == 2
    assert "not empty" in out.stderr
    assert (tmp_path / "x" / "file").read_text() == "keep me"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("name: x\nsorces: {}\n", "duckpipe.yml:2: unknown key 'sorces'"),
        ("name: x\nformat: 3\n", "invalid value for 'format'"),
        ("lake: ${DUCKPIPE_TEST_UNSET_VAR}\n", "${DUCKPIPE_TEST_UNSET_VAR} is not set"),
        (
            "name: x\nmodels: {}\nmodels: {}\n",
            "duckpipe.yml:3: duplicate key 'models' (first at line 2, again at line 3)",
        ),
        ("# empty for now\n", "duckpipe.yml: the file is empty"),
    ],
)
def test_broken_config_is_one_line_and_exit_2(tmp_path: Path, config: str, expected: str) -> None:
    (tmp_path / "duckpipe.yml").write_text(config)
    out = run_cli("run", cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert expected in lines[0]
    assert "Traceback" not in out.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    out = run_cli("run", cwd=tmp_path)
    assert out.returncode == 2
    assert "no duckpipe.yml" in out.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "duckpipe.yml").write_text("sorces: {}\n")
    out = run_cli("--debug", "run", cwd=tmp_path)
    assert out.returncode != 0
    assert "Traceback" in out.stderr


def test_query_unknown_table_suggests_names(tmp_path: Path) -> None:
    run_cli("init", "demo", cwd=tmp_path)
    project = tmp_path / "demo"
    assert run_cli("run", cwd=project).returncode == 0
    out = run_cli("query", "select * from raw_ordrs", cwd=project)
    assert out.returncode == 2
    assert "did you mean 'raw_orders'" in out.stderr


def test_main_returns_for_in_process_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--dry-run"])
    assert exit_info.value.code == 2
    assert "no duckpipe.yml" in capsys.readouterr().err


def test_project_option_after_the_subcommand(tmp_path: Path) -> None:
    assert run_cli("init", "demo", cwd=tmp_path).returncode == 0
    run = run_cli("run", "-p", "demo", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "demo" / "lake" / "raw_orders" / "_delta_log").is_dir()
    assert not (tmp_path / "lake").exists()

    query = run_cli("query", "select count(*) as n from raw_customers", "--format", "json",
                    "--project", "demo", cwd=tmp_path)  # fmt: skip
    assert query.returncode == 0, query.stderr
    assert json.loads(query.stdout.splitlines()[0])["n"] == 500
    before = run_cli("-p", "demo", "history", "--format", "json", cwd=tmp_path)
    after = run_cli("history", "--format", "json", "-p", "demo", cwd=tmp_path)
    assert after.returncode == before.returncode == 0, after.stderr
    assert json.loads(after.stdout) == json.loads(before.stdout)
    table = run_cli("table", "history", "raw_orders", "-p", "demo", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    missing = run_cli("history", "-p", "nowhere", cwd=tmp_path)
    assert missing.returncode != 0
    assert "nowhere" in missing.stderr


@pytest.mark.parametrize(
    "command",
    ["run", "query", "compile", "lineage", "history", "table", "table show", "dlq", "dlq list",
     "cost-report", "check", "stream"],
)  # fmt: skip
def test_every_project_command_takes_project_option(command: str) -> None:
    out = run_cli(*command.split(), "--help")
    assert out.returncode == 0, out.stderr
    assert "-p, --project" in out.stdout
