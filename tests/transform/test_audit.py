"""Write-audit-publish: a model whose staged result fails a check is not published."""

from __future__ import annotations

import pytest

from duckpipe.query import open_query_engine
from duckpipe.runner import run_project

from .conftest import MakeProject

FILES = {
    "seeds/payments.csv": "id,amount\n1,10\n2,20\n",
    "models/paid.sql": "-- materialized: table\nselect id, amount from {{ ref('payments') }}",
    "models/paid_view.sql": "select id, amount from {{ ref('payments') }}",
    "models/paid_total.sql": "-- materialized: table\nselect sum(amount) as total from {{ ref('paid') }}",
    "models/paid_log.sql": """
        {{ config(materialized='incremental', unique_key='id') }}
        select id, amount from {{ ref('payments') }}
        {% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}
        """,
    "checks/payments.yml": """
        checks for paid:
          - min(amount) >= 0
        checks for paid_view:
          - min(amount) >= 0
        checks for paid_log:
          - min(amount) >= 0
        """,
}


@pytest.mark.parametrize("concurrency", [1, 2])
def test_failing_checks_block_the_publish_and_skip_downstream(
    make_project: MakeProject, concurrency: int
) -> None:
    project = make_project(FILES, config=f"models:\n  concurrency: {concurrency}\n")
    first = run_project(project)
    assert first.ok
    lake = project.open_lake()
    version = lake.version("paid")
    log_version = lake.version("paid_log")

    (project.root / "seeds/payments.csv").write_text("id,amount\n1,10\n2,20\n3,-5\n")
    second = run_project(project)
    status = {s.name: s.status for s in second.record.steps}
    assert status == {
        "payments": "ok",
        "paid_log": "blocked",
        "paid_view": "blocked",
        "paid": "blocked",
        "paid_total": "skipped",
    }
    assert "min(amount) >= 0" in (second.step("paid").detail or "")
    assert second.step("paid").checks  # the failing check is recorded with the step
    assert lake.version("paid") == version  # the previous version stays current
    assert lake.version("paid_log") == log_version
    engine = open_query_engine(project)
    try:
        assert engine.arrow("select count(*) as n from paid").to_pylist() == [{"n": 2}]
        assert engine.arrow("select count(*) as n from paid_log").to_pylist() == [{"n": 2}]
    finally:
        engine.close()
