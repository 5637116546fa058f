"""``maintenance:`` in duckpipe.yml: compaction and vacuum after a run, with a retention guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from duckpipe.config import parse_config
from duckpipe.core.errors import ConfigError
from duckpipe.project import load_project
from duckpipe.runner import run_project

PROJECT = """name: upkeep
sources:
  orders:
    uri: data/*.csv
{maintenance}
"""


def test_a_retention_below_the_safe_minimum_is_refused_where_it_is_written() -> None:
    text = PROJECT.format(maintenance="maintenance:\n  retention_hours: 24\n")
    with pytest.raises(ConfigError) as err:
        parse_config(text, file="duckpipe.yml")
    assert err.value.where == "duckpipe.yml:6"
    assert "24 h is shorter than the safe minimum of 168 h" in str(err.value)
    assert "--force" in str(err.value)


def test_sizes_are_read_like_the_table_command_reads_them() -> None:
    config = parse_config(PROJECT.format(maintenance="maintenance:\n  target_file_size: 64MB\n"))
    assert config.maintenance is not None
    assert config.maintenance.target_file_size == 64 * 1024 * 1024
    with pytest.raises(ConfigError) as err:
        parse_config(PROJECT.format(maintenance="maintenance:\n  target_file_size: lots\n"))
    assert "invalid value for 'maintenance.target_file_size'" in str(err.value)
    assert parse_config(PROJECT.format(maintenance="")).maintenance is None


def _land(root: Path, day: int) -> list:
    (root / "data" / f"{day}.csv").write_text(
        "id,amount\n" + "".join(f"{day * 100 + i},{i}.5\n" for i in range(5))
    )
    report = run_project(load_project(root))
    assert report.ok
    return [s for s in report.record.steps if s.kind == "maintenance"]


def test_each_run_compacts_what_it_wrote_and_skips_tables_not_there(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    upkeep = "maintenance:\n  tables: [raw_orders, not_yet]\n  vacuum: false\n"
    (tmp_path / "duckpipe.yml").write_text(PROJECT.format(maintenance=upkeep))
    first = _land(tmp_path, 1)
    assert [(s.name, s.status) for s in first] == [("raw_orders", "ok"), ("not_yet", "skipped")]
    assert first[0].detail == "no small files to compact"
    second = _land(tmp_path, 2)
    assert second[0].detail == "compacted 2 files into 1"
    lake = load_project(tmp_path).open_lake()
    assert lake.describe("raw_orders").num_files == 1
    rows = lake.dataset("raw_orders").to_table().column("id").to_pylist()
    assert sorted(rows) == [*range(100, 105), *range(200, 205)]


def test_without_a_maintenance_section_nothing_is_maintained(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "duckpipe.yml").write_text(PROJECT.format(maintenance=""))
    assert _land(tmp_path, 1) == []
    assert _land(tmp_path, 2) == []
    assert load_project(tmp_path).open_lake().describe("raw_orders").num_files == 2
