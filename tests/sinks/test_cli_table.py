"""``duckpipe table history|show|optimize|zorder|vacuum`` on a project's lake."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from duckpipe.cli import main
from duckpipe.cli.table import parse_size
from duckpipe.core.errors import ConfigError, SinkError
from duckpipe.project import load_project
from duckpipe.sinks import Position


def project(root: Path, fmt: str) -> Path:
    root.mkdir()
    (root / "duckpipe.yml").write_text(f"name: shop\nlake: ./lake\nformat: {fmt}\n")
    lake = load_project(root).open_lake()
    for i in range(4):
        data = pa.table({"id": [i * 2, i * 2 + 1], "day": ["2024-05-01", "2024-05-02"]})
        lake.write(
            "orders", data, partition_by=["day"], position=Position("source:orders", {"n": i})
        )
    return root


def run(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> object:
    main(["-p", str(root), "table", *args, "--format", "json"])
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_table_commands(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path / "p", fmt)
    history = run(root, capsys, "history", "orders")
    assert isinstance(history, list) and history[0]["positions"] == {"source:orders": {"n": 3}}
    shown = run(root, capsys, "show", "orders")
    assert shown["rows"] == 8 and shown["partition_by"] == ["day"] and shown["files"] == 8  # type: ignore[index]
    optimized = run(root, capsys, "optimize", "orders", "--target-size", "64MB")
    assert optimized["files_removed"] == 8 and optimized["files_added"] == 2  # type: ignore[index]
    assert run(root, capsys, "show", "orders")["files"] == 2  # type: ignore[index]
    with pytest.raises(SinkError, match="safe minimum"):
        main(["-p", str(root), "--debug", "table", "vacuum", "orders", "--retention-hours", "0"])
    vacuumed = run(root, capsys, "vacuum", "orders", "--retention-hours", "0", "--force")
    assert vacuumed["files_removed"] >= 8  # type: ignore[index]
    if fmt == "delta":
        zordered = run(root, capsys, "zorder", "orders", "-c", "id")
        assert zordered["operation"] == "zorder"  # type: ignore[index]
    else:
        with pytest.raises(SinkError, match="Z-order"):
            main(["-p", str(root), "--debug", "table", "zorder", "orders", "-c", "id"])
    rows = load_project(root).open_lake().dataset("orders").to_table()
    assert sorted(rows.column("id").to_pylist()) == list(range(8))


def test_unknown_table_gets_did_you_mean(tmp_path: Path) -> None:
    root = project(tmp_path / "p", "delta")
    with pytest.raises(SinkError, match="no Delta table 'ordrs'") as err:
        main(["-p", str(root), "--debug", "table", "show", "ordrs"])
    assert err.value.hint == "did you mean 'orders'?"


def test_parse_size() -> None:
    assert parse_size("512KiB") == 512 * 1024
    with pytest.raises(ConfigError):
        parse_size("big")
