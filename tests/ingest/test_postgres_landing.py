"""Acceptance against the real PostgreSQL: incremental loads, crash safety, retries, bad rows."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from duckpipe.cli import cli
from duckpipe.core.console import Console, JsonConsole, Progress
from duckpipe.core.errors import ConfigError
from duckpipe.ingest.dlq import read_dead_letters
from duckpipe.plan import RunOptions
from duckpipe.project import Project, load_project
from duckpipe.runner import make_plan
from tests.ingest.helpers import Pg, data_columns, landed, run, write_project

pytestmark = pytest.mark.postgres
ROWS = 2000
ROOT = Path(__file__).parents[2]


def make_orders(pg: Pg, rows: int = ROWS) -> str:
    name = pg.name("orders")
    pg.execute(
        f"""CREATE TABLE {name} (id int PRIMARY KEY, customer text, amount numeric(10,2),
            updated_at timestamptz NOT NULL)""",
        f"""INSERT INTO {name} SELECT g, 'c' || (g % 17), g * 1.25,
            '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, {rows}) g""",
    )
    return name


def orders_project(root: Path, pg: Pg, table: str, **cfg) -> Project:
    source = {"uri": pg.uri, "table": table, "watermark_column": "updated_at", **cfg}
    return write_project(root, {"orders": source})


def assert_landed_equals_source(project: Project, pg: Pg, table: str) -> None:
    lake_rows = data_columns(landed(project, "raw_orders")).sort_by("id")
    source_rows = pg.table(f"SELECT id, customer, amount::text, updated_at FROM {table}")
    # the driver alone hands numeric over as text; duckpipe lands it as a decimal
    lake_rows = lake_rows.set_column(2, "amount", lake_rows.column("amount").cast(pa.string()))
    source_rows = source_rows.rename_columns(lake_rows.column_names).sort_by("id")
    assert lake_rows.num_rows == source_rows.num_rows
    assert lake_rows.cast(source_rows.schema).equals(source_rows)


def test_incremental_run_reads_the_changed_rows_plus_the_lookback(pg, tmp_path):
    table = make_orders(pg)
    project = orders_project(tmp_path, pg, table, lookback="15m", primary_key="id")
    first = run(project)
    assert first.ok and first.step("orders").rows == ROWS
    assert_landed_equals_source(project, pg, table)
    plan = make_plan(load_project(project.root), project.open_lake(), RunOptions(dry_run=True))
    assert plan.describe()[0].endswith(
        "land orders -> raw_orders (updated_at > 2024-01-02 09:05:00+00:00 "
        "(watermark 2024-01-02 09:20:00+00:00, lookback 15m))"
    )

    # 1% of the rows change; their new timestamps are after the watermark
    pg.execute(
        f"""UPDATE {table} SET amount = amount + 1,
            updated_at = '2024-03-01'::timestamptz + id * interval '1 second'
            WHERE id % 100 = 0"""
    )
    changed = ROWS // 100
    watermark = "'2024-01-01'::timestamptz + 2000 * interval '1 minute'"
    overlap = pg.scalar(
        f"SELECT count(*) FROM {table} WHERE updated_at > {watermark} - interval '15 minutes' "
        f"AND updated_at <= {watermark}"
    )
    assert overlap == 14  # the rows inside the lookback window that did not change
    second = run(project)
    assert second.ok
    assert second.step("orders").rows == changed + overlap
    assert_landed_equals_source(project, pg, table)
    third = run(project)
    assert third.step("orders").rows == 0 + pg.scalar(
        f"SELECT count(*) FROM {table} WHERE updated_at > "
        f"(SELECT max(updated_at) FROM {table}) - interval '15 minutes'"
    )
    assert_landed_equals_source(project, pg, table)


def test_full_refresh_reloads_everything(pg, tmp_path):
    table = make_orders(pg, 100)
    project = orders_project(tmp_path, pg, table)
    run(project)
    pg.execute(f"DELETE FROM {table} WHERE id <= 10")
    assert run(project, full_refresh=True).step("orders").rows == 90
    assert_landed_equals_source(project, pg, table)


CRASHING_RUN = textwrap.dedent(
    """
    import os, signal, sys
    import duckpipe.ingest.land as land
    from duckpipe.project import load_project
    from duckpipe.runner import run_project

    def killed_before_commit(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    land.commit_rows = killed_before_commit
    run_project(load_project(sys.argv[1]))
    """
)


def run_and_kill_before_commit(project: Project) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN, str(project.root)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == -9, done.stderr


@pytest.mark.parametrize("keyed", [True, False], ids=["merge-on-key", "append"])
def test_a_run_killed_between_extract_and_commit_leaves_no_gap_and_no_duplicate(
    pg, tmp_path, keyed
):
    table = make_orders(pg, 500)
    extra = {"primary_key": "id", "lookback": "1h"} if keyed else {}
    contract = {"required_fields": ["customer"]}
    project = orders_project(tmp_path, pg, table, contract=contract, **extra)
    assert run(project).ok
    pg.execute(
        f"INSERT INTO {table} SELECT g, CASE WHEN g % 25 = 0 THEN NULL ELSE 'new' END, g, "
        "'2024-06-01'::timestamptz + g * interval '1s' FROM generate_series(501, 600) g"
    )
    if keyed:
        pg.execute(f"UPDATE {table} SET amount = 0, updated_at = now() WHERE id % 50 = 0")
    before = project.open_lake().version("raw_orders")
    run_and_kill_before_commit(project)
    assert project.open_lake().version("raw_orders") == before
    assert landed(project, "raw_orders").num_rows == 500
    assert read_dead_letters(project.open_lake(), "orders").num_rows == 4  # stored before the kill
    after = run(project)
    assert after.ok
    pg.execute(f"DELETE FROM {table} WHERE customer IS NULL")  # those are in the DLQ, once
    assert_landed_equals_source(project, pg, table)
    assert read_dead_letters(project.open_lake(), "orders").num_rows == 4


class StopServerMidRun(Console):
    """On the first extracted batch, hands control to the test, which stops the server."""

    def __init__(self) -> None:
        self.first_batch = threading.Event()
        self.stopped = threading.Event()
        self.retries: list[dict] = []

    def event(self, kind, /, **fields):
        if kind == "retry":
            self.retries.append(fields)

    def progress(self, description, total=None):
        console = self

        class Handle(Progress):
            def advance(self, n=1, **fields):
                if not console.first_batch.is_set():
                    console.first_batch.set()
                    console.stopped.wait(60)

        from contextlib import nullcontext

        return nullcontext(Handle())


def test_postgres_stopped_during_a_run_and_started_again_is_survived(
    pg, postgres_service, tmp_path
):
    table = make_orders(pg, 300_000)  # more than the socket buffers hold
    project = orders_project(
        tmp_path,
        pg,
        table,
        options={"batch_size_hint_bytes": 16384},
        retry={"attempts": 30, "initial_delay": 0.2, "max_delay": 1.0, "max_elapsed": 120},
    )
    console = StopServerMidRun()
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("r", run(project, console)))
    worker.start()
    assert console.first_batch.wait(60)
    postgres_service.stop()  # the server goes away in the middle of the COPY
    console.stopped.set()
    import time

    time.sleep(1.5)
    postgres_service.start()
    worker.join(180)
    report = result["r"]
    assert report.ok, report.record.steps
    assert console.retries, "the run should have retried"
    assert_landed_equals_source(project, pg, table)


def test_a_syntax_error_fails_at_once_with_the_sql_error(pg, tmp_path):
    project = write_project(
        tmp_path, {"bad": {"uri": pg.uri, "query": "SELECT id FROM orders WHERE"}}
    )
    console = StopServerMidRun()
    console.first_batch.set()
    report = run(project, console)
    step = report.step("bad")
    assert step.status == "failed"
    assert "syntax error at or near" in step.detail
    assert "SQLSTATE: 42601" in step.detail
    assert console.retries == []


def test_bad_postgres_rows_go_to_the_dlq_and_the_rest_lands(pg, tmp_path):
    table = make_orders(pg, 50)
    pg.execute(f"UPDATE {table} SET customer = NULL WHERE id IN (3, 7)")
    contract = {"required_fields": ["customer"], "schema_policy": "freeze"}
    project = orders_project(tmp_path, pg, table, primary_key="id", contract=contract)
    report = run(project)
    assert report.ok
    assert landed(project, "raw_orders").num_rows == 48
    letters = read_dead_letters(project.open_lake(), "orders")
    assert sorted(letters.column("reason").to_pylist()) == ["required field 'customer' is null"] * 2
    pg.execute(
        f"ALTER TABLE {table} ADD COLUMN channel text",
        f"""INSERT INTO {table} VALUES (51, 'c', 1, '2024-09-01', 'web'),
                                      (52, 'c', 1, '2024-09-02', NULL)""",
    )
    frozen = run(project)
    assert frozen.step("orders").status == "failed"
    assert "new column 'channel'" in frozen.step("orders").detail
    assert sorted(data_columns(landed(project, "raw_orders")).column("id").to_pylist())[-1] == 52
    letters = read_dead_letters(project.open_lake(), "orders")
    assert (
        "new column 'channel' is not in the frozen schema" in letters.column("reason").to_pylist()
    )

    # the fix: accept the new column and orders without a customer; replay lands them once
    project = orders_project(
        tmp_path, pg, table, primary_key="id", contract={"schema_policy": "evolve"}
    )
    for _ in range(2):
        result = CliRunner().invoke(cli, ["--project", str(tmp_path), "dlq", "replay", "orders"])
        assert result.exit_code == 0, result.output
    lake_rows = data_columns(landed(project, "raw_orders")).sort_by("id")
    assert lake_rows.column("id").to_pylist() == list(range(1, 53))
    assert lake_rows.column("channel").to_pylist()[-2:] == ["web", None]
    assert read_dead_letters(project.open_lake(), "orders").num_rows == 0
    assert run(project).ok
    assert landed(project, "raw_orders").num_rows == 52


def test_lookback_without_a_primary_key_is_refused(pg, tmp_path):
    project = orders_project(tmp_path, pg, make_orders(pg, 5), lookback="1h")
    with pytest.raises(ConfigError) as err:
        run(project)
    assert err.value.where == "sources.orders.lookback"
    assert "primary_key" in str(err.value)


WIDE = "1234567890123456789012345678901234567890.12345678901234567890"
BIG = "1" + "0" * 45  # Arrow's string -> decimal128(38, 9) cast wraps this one around


def numeric_source(pg: Pg, tmp_path: Path, columns: str, values: str) -> tuple[str, Project]:
    """A table ``columns`` holding ``values`` and a project landing it as source ``num``."""
    table = pg.name("num")
    pg.execute(f"CREATE TABLE {table} ({columns})", f"INSERT INTO {table} VALUES {values}")
    return table, write_project(tmp_path, {"num": {"uri": pg.uri, "table": table}})


def stored_num(tmp_path: Path) -> pa.Table:
    """``raw_num`` as deltalake itself reads it."""
    from deltalake import DeltaTable

    return DeltaTable(str(tmp_path / "lake" / "raw_num")).to_pyarrow_table().sort_by("id")


def test_numeric_wider_than_38_digits_lands_as_its_exact_text_with_a_warning(pg, tmp_path):
    table, project = numeric_source(
        pg,
        tmp_path,
        "id int, w numeric(60,20), n numeric(38,2)",
        f"(1, {WIDE}, 1.50), (2, -0.5, NULL), (3, NULL, 2)",
    )
    out = io.StringIO()
    report = run(project, console=JsonConsole(out))
    assert report.ok and report.step("num").rows == 3
    stored = stored_num(tmp_path)
    assert stored.schema.field("w").type == pa.string()
    expected = pg.table(f"SELECT w::text FROM {table} ORDER BY id").column(0).to_pylist()
    assert stored.column("w").to_pylist() == expected == [WIDE, "-0.50000000000000000000", None]
    assert stored.schema.field("n").type == pa.decimal128(38, 2)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert any("sources.num.w" in w and "exact text" in w for w in warnings)


def test_unconstrained_numeric_too_wide_for_decimal128_fails_naming_it_not_wraps(pg, tmp_path):
    table, project = numeric_source(pg, tmp_path, "id int, x numeric", f"(1, 12.5), (2, {BIG})")
    report = run(project)
    assert not report.ok
    error = str(report.step("num").detail)
    assert "sources.num.x" in error and BIG in error
    assert not (tmp_path / "lake" / "raw_num").exists()
    # cast in the query, it lands exactly as text
    query = f"SELECT id, x::text AS x FROM {table}"
    write_project(tmp_path, {"num": {"uri": pg.uri, "query": query}})
    assert run(project).ok
    assert stored_num(tmp_path).column("x").to_pylist() == ["12.5", BIG]
