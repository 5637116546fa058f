"""Query layout from the project's SQL models, and compute advice from its kind and history."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from duckpipe.advisor import analyze_lake
from duckpipe.advisor.usage import merge_scans, model_scans, render_model
from duckpipe.project import load_project
from tests.advisor.conftest import NO_MATERIALITY_PRICES, only, rules_of

TB = 1024**4


def test_filter_and_join_columns_are_attributed_to_their_tables() -> None:
    sql = """
    with recent as (select * from orders where order_date >= '2024-01-01')
    select o.id, c.name
    from recent o
    join customers c on o.customer_id = c.id
    join payments p using (order_id)
    where c.country = 'DE' and status = 'paid'
      and o.id in (select order_id from refunds r where r.amount > 5)
    """
    scans = {s.table: s for s in model_scans("m", "models/m.sql", sql)}
    assert set(scans) == {"orders", "customers", "payments", "refunds"}
    assert scans["orders"].filter_columns == {"order_date"}
    assert scans["customers"].filter_columns == {"country"}
    assert scans["customers"].join_columns == {"id"}
    assert scans["payments"].join_columns == {"order_id"}
    assert scans["refunds"].filter_columns == {"amount"}
    # unqualified in a multi-source SELECT: may belong to any table there
    assert "status" in scans["customers"].unqualified_filters
    assert "status" not in scans["customers"].filter_columns


def test_dbt_jinja_is_rendered_minimally() -> None:
    sql = """
    {{ config(materialized='incremental') }}
    select * from {{ ref('events') }} e
    {% if is_incremental() %} where e.day > (select max(day) from {{ this }}) {% endif %}
    """
    assert "from events e" in render_model(sql, "daily")
    full = model_scans("daily", "p", render_model(sql, "daily"))
    incremental = model_scans("daily", "p", render_model(sql, "daily", incremental=True))
    assert full[0].filter_columns == frozenset()
    merged = merge_scans([full, incremental])
    events = next(s for s in merged if s.table == "events")
    assert events.filter_columns == {"day"}


def _project(root: Path, model_sql: str, *, extra: str = "") -> Path:
    (root / "models").mkdir(parents=True)
    (root / "duckpipe.yml").write_text(f"name: shop\nlake: ./lake\n{extra}")
    (root / "models" / "user_activity.sql").write_text(model_sql)
    return root


def _history(root: Path, runs: list[tuple[datetime, float]]) -> None:
    state = root / ".duckpipe"
    state.mkdir(exist_ok=True)
    with (state / "history.jsonl").open("w") as fh:
        for i, (start, seconds) in enumerate(runs):
            record = {
                "run_id": f"r{i}",
                "command": "run",
                "started_at": start.isoformat(),
                "finished_at": (start + timedelta(seconds=seconds)).isoformat(),
                "status": "success",
                "steps": [{"kind": "model", "name": "user_activity", "status": "ok"}],
            }
            fh.write(json.dumps(record) + "\n")


def _events(path: Path) -> None:
    """Eight appends over two days: every file spans the whole user_id range."""
    rng = random.Random(7)
    for _ in range(8):
        users = [rng.randrange(0, 10_000) for _ in range(500)]
        table = pa.table(
            {
                "user_id": pa.array(users, pa.int64()),
                "day": ["2024-01-01", "2024-01-02"] * 250,
            }
        )
        write_deltalake(str(path), table, partition_by=["day"], mode="append")


def test_models_without_partition_filter_and_clustering_candidates(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        "select user_id, count(*) as n from events where user_id = 42 group by user_id",
    )
    _events(root / "lake" / "events")
    now = datetime.now(UTC)
    _history(
        root,
        [(now - timedelta(days=d), 600) for d in (1, 2, 3)] + [(now - timedelta(days=45), 600)],
    )

    report = analyze_lake(
        str(root / "lake"), prices=NO_MATERIALITY_PRICES, project=load_project(root)
    )

    assert rules_of(report) == [
        ("clustering_candidate", "events"),
        ("compute_batch_spot", None),
        ("unfiltered_partition_scan", "events"),
    ]
    facts = report.tables[0]
    scan = only(report, "unfiltered_partition_scan")
    assert scan.evidence["model"] == "user_activity"
    assert scan.evidence["partitions"] == 2
    assert scan.evidence["runs_per_month"] == 3
    assert scan.evidence["bytes_per_run"] == facts.total_bytes
    assert scan.monthly_usd == pytest.approx(3 * facts.total_bytes / TB * 5.0)
    assert "day" in scan.fix and "models/user_activity.sql" in scan.fix

    cluster = only(report, "clustering_candidate")
    assert cluster.evidence["column"] == "user_id"
    assert cluster.evidence["files"] == 16
    depth = cluster.evidence["files_read_per_filter"]
    # 8 files per day partition, each spanning almost the whole id range
    assert isinstance(depth, float) and 7.5 < depth <= 8
    assert depth == round(facts.clustering["user_id"], 2)
    assert cluster.fix == "duckpipe table zorder events --column user_id"
    expected = 3 * (facts.clustering["user_id"] - 1) * facts.total_bytes / 16 / TB * 5.0
    assert cluster.monthly_usd == pytest.approx(expected)

    compute = only(report, "compute_batch_spot")
    assert compute.evidence["runs_per_month"] == 3
    assert compute.evidence["run_hours_per_month"] == 0.5
    assert compute.monthly_usd == pytest.approx(0.5 * 0.1008 * 0.7)


def test_a_partition_filter_and_a_clustered_column_need_no_advice(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        "select user_id from events where day = '2024-01-02' and user_id between 10 and 20",
        extra="kind: adhoc\n",
    )
    path = root / "lake" / "events"
    _events(path)
    DeltaTable(str(path)).optimize.z_order(["user_id"])  # one file per day, sorted
    DeltaTable(str(path)).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)

    report = analyze_lake(str(root / "lake"), project=load_project(root))

    assert report.tables[0].clustering == {"user_id": 1.0}
    # adhoc: an always-on VM costs far more than scanning this lake serverless
    assert rules_of(report) == [("compute_adhoc_serverless", None)]
    f = only(report, "compute_adhoc_serverless")
    assert f.evidence["always_on_usd_per_month"] == round(730 * 0.1008, 2)
    assert f.monthly_usd == pytest.approx(
        730 * 0.1008 - 30 * report.tables[0].total_bytes / TB * 5.0
    )


def test_streaming_projects_are_told_to_stay_on_demand(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        "select 1 as x",
        extra="kind: streaming\nstreams:\n  clicks: {source: clicks, table: clicks}\n",
    )
    write_deltalake(str(root / "lake" / "clicks"), pa.table({"id": [1, 2, 3]}))

    report = analyze_lake(str(root / "lake"), project=load_project(root))

    assert rules_of(report) == [("compute_streaming_on_demand", None)]
    f = only(report, "compute_streaming_on_demand")
    assert f.evidence["streams"] == "clicks"
    assert f.monthly_usd == 0.0
    assert "on-demand" in f.fix
