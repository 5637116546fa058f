"""The publish gate: audit() runs a dataset's checks on its staged data and keeps failing rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from duckpipe.core.console import Console
from duckpipe.core.errors import QualityError
from duckpipe.engine import Engine
from duckpipe.plan import RunOptions
from duckpipe.project import load_project
from duckpipe.quality import PublishGate, audit
from duckpipe.runner import RunContext

CHECKS = """\
checks for orders:
  - row_count > 0
  - missing_count(email) = 0
  - invalid_count(status) = 0:
      valid values: [placed, shipped, returned]
  - duplicate_count(id) = 0
  - invalid_count(email) = 0:
      valid format: email
  - values in (customer_id) must exist in customers (id)
  - failed rows:
      name: negative amounts
      fail query: select * from orders where amount < 0
  - failed rows:
      name: big orders
      fail condition: amount > 55
  - avg(amount):
      warn: when > 30
"""


class Recorder(Console):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.warnings: list[str] = []

    def event(self, kind: str, /, **fields: Any) -> None:
        self.events.append({"event": kind, **fields})

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def make_ctx(root: Path, checks: str = CHECKS, **options: Any) -> RunContext:
    (root / "checks").mkdir(parents=True, exist_ok=True)
    (root / "duckpipe.yml").write_text(
        "name: gate\nlake: ./lake\nsources:\n  orders:\n    uri: data/orders.csv\n    land_as: orders\n"
    )
    (root / "checks" / "orders.yml").write_text(checks)
    (root / "seeds").mkdir(exist_ok=True)
    (root / "seeds" / "customers.csv").write_text("id,name\n10,a\n11,b\n12,c\n13,d\n")
    project = load_project(root)
    engine = Engine()
    engine.register("customers", pa.table({"id": [10, 11, 12, 13]}))
    return RunContext(
        project, engine, project.open_lake(), "run-1", RunOptions(**options), Recorder()
    )


def test_failing_checks_block_and_quarantine_each_row_check(
    tmp_path: Path, orders: pa.Table
) -> None:
    ctx = make_ctx(tmp_path)
    ctx.engine.register("orders", orders.slice(0, 2))  # the published version
    ctx.engine.register("__staged_orders", orders)

    result = audit(ctx, "orders", "__staged_orders")

    assert result.passed is False
    outcomes = {c["name"]: c["outcome"] for c in result.checks}
    assert outcomes["row_count > 0"] == "pass"
    assert outcomes["avg(amount) warn when > 30"] == "warn"
    assert result.results[0].value == 8  # the staged rows, not the 2 published ones
    assert result.detail is not None and result.detail.startswith("blocked by 7 failing checks:")
    assert (
        "missing_count(email) = 0 failed: value 1 (fail when != 0) at checks/orders.yml:3"
        in result.detail
    )

    quarantine = ctx.lake.dataset("_quarantine/orders").to_table().to_pylist()
    by_check: dict[str, list[int]] = {}
    for row in quarantine:
        assert (row["run_id"], row["dataset"]) == ("run-1", "orders")
        by_check.setdefault(row["check"], []).append(json.loads(row["row"])["id"])
    assert {k: sorted(v) for k, v in by_check.items()} == {
        "missing_count(email) = 0": [3],
        "invalid_count(status) = 0": [4],
        "duplicate_count(id) = 0": [7, 7],
        "invalid_count(email) = 0": [4],
        "values in (customer_id) must exist in customers (id)": [6],
        "negative amounts": [4],
        "big orders": [7, 7],
    }
    assert result.quarantined == len(quarantine) == 9
    assert ctx.engine.arrow("select count(*) as n from orders").to_pylist() == [{"n": 2}]
    assert any("missing_count(email) = 0 failed" in w for w in ctx.console.warnings)  # type: ignore[attr-defined]
    checks_events = [e for e in ctx.console.events if e["event"] == "check"]  # type: ignore[attr-defined]
    assert len(checks_events) == 9


def test_clean_staged_data_passes_and_quarantines_nothing(tmp_path: Path, orders: pa.Table) -> None:
    ctx = make_ctx(tmp_path)
    ctx.engine.register("incoming", orders.filter(pc.field("id") <= 2))
    ctx.engine.execute("create temp table staged_orders as select * from incoming")
    result = audit(ctx, "orders", "staged_orders")
    assert result.passed is True
    assert {c["outcome"] for c in result.checks} == {"pass"}
    assert not ctx.lake.exists("_quarantine/orders")


def test_warn_checks_report_and_pass(tmp_path: Path, orders: pa.Table) -> None:
    ctx = make_ctx(tmp_path, "checks for orders:\n  - avg(amount):\n      warn: when > 30\n")
    ctx.engine.register("staged", orders)
    result = audit(ctx, "orders", "staged")
    assert (result.passed, [c["outcome"] for c in result.checks]) == (True, ["warn"])
    assert ctx.console.warnings == [  # type: ignore[attr-defined]
        "orders: avg(amount) warn when > 30 warned: value 33.125 (warn when > 30) (checks/orders.yml:2)"
    ]


def test_skip_checks_and_datasets_without_checks(tmp_path: Path, orders: pa.Table) -> None:
    ctx = make_ctx(tmp_path, skip_checks=True)
    ctx.engine.register("staged", orders)
    assert audit(ctx, "orders", "staged").skipped is True
    ctx = make_ctx(tmp_path / "b")
    ctx.engine.register("staged", orders)
    result = audit(ctx, "customers", "staged")
    assert (result.passed, result.checks, result.skipped) == (True, [], False)


@pytest.mark.parametrize("staging", ["view", "self_view", "reader"])
def test_staged_relation_of_any_kind(tmp_path: Path, orders: pa.Table, staging: str) -> None:
    ctx = make_ctx(tmp_path, "checks for orders:\n  - row_count = 8\n  - duplicate_count(id) = 1\n")
    ctx.engine.register("orders", orders.slice(0, 5))
    if staging == "view":
        ctx.engine.register("incoming", orders)
        ctx.engine.execute("create view staged as select * from incoming")
    elif staging == "self_view":  # an incremental model: the published rows plus new ones
        ctx.engine.register("incoming", orders.slice(5))
        ctx.engine.execute(
            "create view staged as select * from orders union all select * from incoming"
        )
    else:
        ctx.engine.register(
            "staged", pa.RecordBatchReader.from_batches(orders.schema, orders.to_batches())
        )
    result = audit(ctx, "orders", "staged")
    assert [(c["name"], c["outcome"], c["value"]) for c in result.checks] == [
        ("row_count = 8", "pass", 8),
        ("duplicate_count(id) = 1", "pass", 1),
    ]
    assert ctx.engine.arrow("select count(*) as n from staged").to_pylist() == [{"n": 8}]


def test_broken_checks_raise_with_file_and_line(tmp_path: Path, orders: pa.Table) -> None:
    ctx = make_ctx(
        tmp_path, "checks for orders:\n  - row_count > 0\n\nchecks for ordrs:\n  - row_count > 0\n"
    )
    ctx.engine.register("staged", orders)
    with pytest.raises(QualityError) as err:
        audit(ctx, "orders", "staged")
    assert (err.value.where, err.value.hint) == ("checks/orders.yml:4", "did you mean 'orders'?")
    ctx = make_ctx(tmp_path / "b", "checks for orders:\n  - missing_count(mail) = 0\n")
    ctx.engine.register("staged", orders)
    with pytest.raises(QualityError, match="unknown column 'mail'") as err:
        audit(ctx, "orders", "staged")
    assert err.value.where == "checks/orders.yml:2"


def test_the_gate_audits_arrow_rows_and_names_the_rows_each_failing_check_flags(
    tmp_path: Path, orders: pa.Table
) -> None:
    """A stream's way in: rows outside the run's engine, references read from the lake."""
    checks = (
        "checks for orders:\n"
        "  - missing_count(email) = 0\n"
        "  - values in (customer_id) must exist in customers (id)\n"
    )
    ctx = make_ctx(tmp_path, checks)
    ctx.lake.write("customers", pa.table({"id": pa.array([10, 11, 12, 13], pa.int64())}))
    gate = PublishGate(ctx.project, ctx.lake, ctx.engine, ctx.console)
    assert (gate.has_checks("orders"), gate.has_checks("customers")) == (True, False)
    assert sorted(where for _, where in gate.prepare("orders")) == [
        "checks/orders.yml:2",
        "checks/orders.yml:3",
    ]
    assert gate.references == {"orders": {"customers"}}

    result = gate.audit("orders", orders, row_key=("id", "region"))

    assert result.passed is False and result.quarantined == 0
    assert result.failing_rows == {
        "3\x00eu": ["check 'missing_count(email) = 0' failed (checks/orders.yml:2)"],
        "6\x00us": [
            "check 'values in (customer_id) must exist in customers (id)' failed "
            "(checks/orders.yml:3)"
        ],
    }
    assert not ctx.lake.exists("_quarantine/orders")
    assert gate.audit("orders", orders.slice(0, 2), row_key=("id",)).failing_rows == {}
    assert gate.audit("orders", orders, row_key=("order_id",)).failing_rows is None
