"""Landing file sources with `duckpipe run`: metadata columns, increments, contracts and the DLQ."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.csv as pcsv
import yaml
from click.testing import CliRunner

from duckpipe.cli import cli
from duckpipe.ingest.metadata import METADATA_COLUMNS
from duckpipe.project import load_project
from duckpipe.runner import make_plan
from tests.ingest.helpers import data_columns, landed, run, write_project

REFERENCE = Path(__file__).parents[2] / "sql"


def test_reference_project_lands_every_row_with_metadata(tmp_path):
    for part in ("duckpipe.yml", "data", "models", "checks"):
        src = REFERENCE / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / part)
    project = load_project(tmp_path)
    report = run(project)
    assert report.ok, report.record.steps
    orders = landed(project, "raw_orders")
    expected = pcsv.read_csv(tmp_path / "data" / "orders.csv")
    assert orders.num_rows == expected.num_rows == report.step("orders").rows
    assert orders.column_names[-3:] == list(METADATA_COLUMNS)
    assert set(orders.column("_source").to_pylist()) == {"orders"}
    assert set(orders.column("_run_id").to_pylist()) == {report.record.run_id}
    assert orders.column("_extracted_at").null_count == 0
    assert sorted(orders.column("order_id").to_pylist()) == sorted(
        expected.column("order_id").to_pylist()
    )


def write_csv(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.strip() + "\n")


def test_new_files_are_the_increment_and_merge_on_the_primary_key(tmp_path):
    write_csv(tmp_path / "in" / "a.csv", "id,amount\n1,10\n2,20")
    project = write_project(tmp_path, {"orders": {"uri": "in/*.csv", "primary_key": "id"}})
    assert run(project).step("orders").rows == 2
    write_csv(tmp_path / "in" / "b.csv", "id,amount\n2,25\n3,30")
    plan = make_plan(load_project(tmp_path), project.open_lake(), _options())
    assert "1 new file(s) of 2" in plan.describe()[0]
    second = run(project)
    assert second.step("orders").rows == 2
    rows = data_columns(landed(project, "raw_orders")).sort_by("id").to_pylist()
    assert rows == [{"id": 1, "amount": 10}, {"id": 2, "amount": 25}, {"id": 3, "amount": 30}]
    third = run(project)
    assert third.step("orders").rows == 0
    assert third.step("orders").version is None  # nothing new: no commit
    refreshed = run(project, full_refresh=True)
    assert refreshed.step("orders").rows == 3  # both files again, one row per key
    rows = data_columns(landed(project, "raw_orders")).sort_by("id").to_pylist()
    assert rows == [{"id": 1, "amount": 10}, {"id": 2, "amount": 25}, {"id": 3, "amount": 30}]


def delta_rows(root: Path, table: str) -> list[dict]:
    """The table's data rows as deltalake itself reads them, sorted."""
    from deltalake import DeltaTable

    rows = DeltaTable(str(root / "lake" / table)).to_pyarrow_table(columns=["id", "amount"])
    return rows.sort_by([("id", "ascending"), ("amount", "ascending")]).to_pylist()


def rewrite(path: Path, text: str) -> None:
    """``path`` rewritten under the same name, its modification time moved on for sure."""
    before = path.stat().st_mtime_ns
    write_csv(path, text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_a_file_rewritten_under_the_same_name_merges_on_the_primary_key(tmp_path):
    write_csv(tmp_path / "in" / "a.csv", "id,amount\n1,10\n2,20")
    write_csv(tmp_path / "in" / "b.csv", "id,amount\n5,50")
    project = write_project(tmp_path, {"orders": {"uri": "in/*.csv", "primary_key": "id"}})
    assert run(project).step("orders").rows == 3
    # id 1 changes, id 2 is dropped from the file, id 3 is added
    rewrite(tmp_path / "in" / "a.csv", "id,amount\n1,11\n3,30")
    plan = make_plan(load_project(tmp_path), project.open_lake(), _options())
    assert "1 new file(s) of 2" in plan.describe()[0]  # b.csv is unchanged
    assert run(project).step("orders").rows == 2
    assert delta_rows(tmp_path, "raw_orders") == [
        {"id": 1, "amount": 11},
        {"id": 2, "amount": 20},  # a merge updates and adds, it does not delete
        {"id": 3, "amount": 30},
        {"id": 5, "amount": 50},
    ]
    unchanged = run(project)
    assert unchanged.step("orders").rows == 0
    assert unchanged.step("orders").version is None  # nothing new: no commit


def test_a_file_rewritten_without_a_primary_key_is_appended_again(tmp_path):
    write_csv(tmp_path / "in" / "a.csv", "id,amount\n1,10")
    project = write_project(tmp_path, {"orders": {"uri": "in/*.csv"}})
    assert run(project).step("orders").rows == 1
    # same size, other content: the modification time tells the rewrite apart
    rewrite(tmp_path / "in" / "a.csv", "id,amount\n1,12")
    assert run(project).step("orders").rows == 1
    assert delta_rows(tmp_path, "raw_orders") == [{"id": 1, "amount": 10}, {"id": 1, "amount": 12}]
    assert run(project).step("orders").rows == 0


def test_a_position_of_paths_only_keeps_working_and_learns_fingerprints(tmp_path):
    from duckpipe.config import SourceConfig
    from duckpipe.sources.files import FileSource

    write_csv(tmp_path / "in" / "a.csv", "id,amount\n1,10")
    write_csv(tmp_path / "in" / "b.csv", "id,amount\n2,20")
    source = FileSource("orders", SourceConfig(uri="in/*.csv"), project_root=tmp_path)
    old = {"files": ["in/a.csv"]}  # as positions were stored before fingerprints
    planned = source.plan(old)
    assert planned.details["keys"] == ["in/b.csv"]
    extraction = source.extract(planned)
    assert extraction.reader.read_all().column("id").to_pylist() == [2]
    position = extraction.next_position()
    assert position["files"] == ["in/a.csv", "in/b.csv"]
    assert set(position["fingerprints"]) == {"in/a.csv", "in/b.csv"}
    assert source.plan(position).details["keys"] == []
    rewrite(tmp_path / "in" / "a.csv", "id,amount\n1,11")
    assert source.plan(position).details["keys"] == ["in/a.csv"]


def _options():
    from duckpipe.plan import RunOptions

    return RunOptions()


def cli_json(project_dir: Path, *args: str) -> list[dict]:
    result = CliRunner().invoke(cli, ["--project", str(project_dir), *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def test_bad_rows_reach_the_dlq_and_replay_lands_them_once(tmp_path):
    write_csv(
        tmp_path / "in" / "a.csv",
        "order_id,customer_id,amount\n1,10,1.5\n2,,2.5\n3,30,abc\n4,40,4.0",
    )
    contract = {
        "required_fields": ["order_id", "customer_id"],
        "dtypes": {"amount": "double"},
        "schema_policy": "freeze",
    }
    sources = {"orders": {"uri": "in/*.csv", "primary_key": "order_id", "contract": contract}}
    project = write_project(tmp_path, sources)
    first = run(project)
    assert first.ok
    assert "2 rejected -> _dlq/orders" in first.step("orders").detail
    good = data_columns(landed(project, "raw_orders")).sort_by("order_id")
    assert good.column("order_id").to_pylist() == [1, 4]
    assert str(good.schema.field("amount").type) == "double"

    # a new column under freeze: its rows go to the DLQ, the others land, the run fails
    write_csv(tmp_path / "in" / "b.csv", "order_id,customer_id,amount,coupon\n5,50,5.0,SPRING")
    second = run(project)
    step = second.step("orders")
    assert step.status == "failed"
    assert "schema_policy freeze" in step.detail and "coupon" in step.detail
    assert not second.ok

    listed = cli_json(tmp_path, "dlq", "list", "--format", "json")[0]["rows"]
    assert listed == [
        {
            "source": "orders",
            "rows": 3,
            "top reasons": listed[0]["top reasons"],
            "newest": listed[0]["newest"],
        }
    ]
    shown = cli_json(tmp_path, "dlq", "show", "orders", "--format", "json")[0]["rows"]
    reasons = {json.loads(r["raw"])["order_id"]: (r["reason"], r["column"]) for r in shown}
    assert reasons == {
        2: ("required field 'customer_id' is null", "customer_id"),
        3: ("value of type text does not fit double", "amount"),
        5: ("new column 'coupon' is not in the frozen schema", "coupon"),
    }

    # the fix: accept the new column and orders without a customer
    contract.update(required_fields=["order_id"], schema_policy="evolve")
    (tmp_path / "duckpipe.yml").write_text(
        yaml.safe_dump({"name": "test", "lake": "./lake", "sources": sources})
    )
    replayed = cli_json(tmp_path, "dlq", "replay", "orders", "--format", "json")[0]
    assert (replayed["landed"], replayed["still_failing"]) == (2, 1)
    assert replayed["reasons"] == {"value of type text does not fit double": 1}
    table = data_columns(landed(project, "raw_orders")).sort_by("order_id")
    assert table.column("order_id").to_pylist() == [1, 2, 4, 5]
    assert table.column("coupon").to_pylist() == [None, None, None, "SPRING"]
    assert table.column("customer_id").to_pylist() == [10, None, 40, 50]

    again = cli_json(tmp_path, "dlq", "replay", "orders", "--format", "json")[0]
    assert again["landed"] == 0 and again["still_failing"] == 1
    assert landed(project, "raw_orders").num_rows == 4
    left = cli_json(tmp_path, "dlq", "show", "orders", "--format", "json")[0]["rows"]
    assert [json.loads(r["raw"])["order_id"] for r in left] == [3]


def test_discard_drops_a_new_column_and_evolve_adds_it(tmp_path):
    write_csv(tmp_path / "in" / "a.csv", "id,amount\n1,10")
    sources = {"s": {"uri": "in/*.csv", "contract": {"schema_policy": "discard"}}}
    project = write_project(tmp_path, sources)
    run(project)
    write_csv(tmp_path / "in" / "b.csv", "id,amount,extra\n2,20,x")
    assert run(project).ok
    assert landed(project, "raw_s").column_names[:2] == ["id", "amount"]
    assert "extra" not in landed(project, "raw_s").column_names

    sources["s"]["contract"]["schema_policy"] = "evolve"
    write_project(tmp_path, sources)
    write_csv(tmp_path / "in" / "c.csv", "id,amount,extra\n3,30,y")
    assert run(project).ok
    table = data_columns(landed(project, "raw_s")).sort_by("id")
    assert table.to_pylist() == [
        {"id": 1, "amount": 10, "extra": None},
        {"id": 2, "amount": 20, "extra": None},
        {"id": 3, "amount": 30, "extra": "y"},
    ]


def test_failing_check_blocks_the_landing_and_keeps_the_old_version(tmp_path):
    write_csv(tmp_path / "in" / "a.csv", "id,amount\n1,10\n2,20")
    project = write_project(tmp_path, {"orders": {"uri": "in/*.csv"}})
    first = run(project)
    version = first.step("orders").version
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "raw.yml").write_text("checks for raw_orders:\n  - min(amount) >= 0\n")
    write_csv(tmp_path / "in" / "b.csv", "id,amount\n3,-5")
    blocked = run(project)
    step = blocked.step("orders")
    assert step.status == "blocked"
    assert "min(amount) >= 0" in step.detail
    lake = project.open_lake()
    assert lake.version("raw_orders") == version
    assert pc.sum(landed(project, "raw_orders").column("amount")).as_py() == 30
    # the position did not move either: once fixed, the same file lands
    write_csv(tmp_path / "in" / "b.csv", "id,amount\n3,5")
    assert run(project).step("orders").rows == 1


def test_a_key_repeated_in_one_landing_keeps_the_latest_row(tmp_path):
    write_csv(
        tmp_path / "in" / "a.csv", "id,amount,at\n1,10,2024-01-01\n1,11,2024-01-03\n2,20,2024-01-01"
    )
    sources = {"o": {"uri": "in/*.csv", "primary_key": "id", "watermark_column": "at"}}
    project = write_project(tmp_path, sources)
    assert run(project).ok
    write_csv(
        tmp_path / "in" / "b.csv", "id,amount,at\n2,22,2024-01-05\n2,21,2024-01-04\n3,30,2024-01-01"
    )
    assert run(project).ok
    rows = data_columns(landed(project, "raw_o")).sort_by("id")
    assert rows.column("amount").to_pylist() == [11, 22, 30]


def test_a_replay_cut_short_after_landing_lands_nothing_twice(tmp_path, monkeypatch):
    import duckpipe.ingest.replay as replay_module

    write_csv(tmp_path / "in" / "a.csv", "id,name\n1,a\n2,")
    sources = {"s": {"uri": "in/*.csv", "contract": {"required_fields": ["name"]}}}
    project = write_project(tmp_path, sources)
    assert run(project).step("s").rows == 1
    sources["s"]["contract"] = {}
    write_project(tmp_path, sources)

    def crash(*args, **kwargs):
        raise RuntimeError("killed before the queue was rewritten")

    monkeypatch.setattr(replay_module, "_rewrite_queue", crash)
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "dlq", "replay", "s"])
    assert isinstance(result.exception, RuntimeError)
    monkeypatch.undo()
    again = cli_json(tmp_path, "dlq", "replay", "s", "--format", "json")[0]
    assert (again["landed"], again["already_landed"], again["still_failing"]) == (0, 1, 0)
    rows = data_columns(landed(project, "raw_s")).sort_by("id").to_pylist()
    assert rows == [{"id": 1, "name": "a"}, {"id": 2, "name": None}]
    assert cli_json(tmp_path, "dlq", "show", "s", "--format", "json")[0]["rows"] == []


def test_a_rejected_row_is_read_and_dead_lettered_once_over_reruns(tmp_path):
    from deltalake import DeltaTable

    write_csv(tmp_path / "in" / "a.csv", "order_id,amount\n1,1.0")
    contract = {"required_fields": ["order_id"], "schema_policy": "freeze"}
    sources = {"orders": {"uri": "in/*.csv", "primary_key": "order_id", "contract": contract}}
    project = write_project(tmp_path, sources)
    assert run(project).ok
    # every row of the new file is rejected: the landing commits no rows, only its position
    write_csv(tmp_path / "in" / "b.csv", "order_id,amount,coupon\n5,5.0,SPRING")
    frozen = run(project)
    assert frozen.step("orders").status == "failed"
    assert "coupon" in frozen.step("orders").detail
    for _ in range(2):
        rerun = run(project)
        assert rerun.ok, rerun.step("orders").detail
        assert rerun.step("orders").detail == "nothing new"
    letters = DeltaTable(str(tmp_path / "lake" / "_dlq" / "orders")).to_pyarrow_table()
    assert letters.num_rows == 1
    assert json.loads(letters.column("raw")[0].as_py())["order_id"] == 5
    assert letters.column("run_id").to_pylist() == [frozen.record.run_id]
    assert data_columns(landed(project, "raw_orders")).column("order_id").to_pylist() == [1]
