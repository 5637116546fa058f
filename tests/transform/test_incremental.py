"""Incremental models: after N increments the table equals a full rebuild, for every strategy."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from deltalake import DeltaTable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duckpipe.core.errors import ConfigError
from duckpipe.plan import RunOptions
from duckpipe.project import Project, load_project
from duckpipe.query import open_query_engine
from duckpipe.runner import run_project

from .conftest import MakeProject, write_project

CONFIG = """
seeds:
  events:
    column_types: {id: bigint, grp: varchar, value: bigint, ts: bigint, day: date}
"""
SINCE_TS = "{% if is_incremental() %}where ts > (select max(ts) from {{ this }}){% endif %}"
SINCE_DAY = "{% if is_incremental() %}where day >= (select max(day) from {{ this }}){% endif %}"
MODELS = {
    "models/inc_append.sql": f"""
        {{{{ config(materialized='incremental') }}}}
        select id, grp, value, ts from {{{{ ref('events') }}}}
        {SINCE_TS}
        """,
    "models/inc_merge.sql": f"""
        {{{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}}}
        select id, value, ts from {{{{ ref('events') }}}}
        {SINCE_TS}
        qualify row_number() over (partition by id order by ts desc) = 1
        """,
    "models/inc_merge_pair.sql": f"""
        {{{{ config(materialized='incremental', unique_key=['id', 'grp'], incremental_strategy='merge') }}}}
        select id, grp, value, ts from {{{{ ref('events') }}}}
        {SINCE_TS}
        qualify row_number() over (partition by id, grp order by ts desc) = 1
        """,
    "models/inc_daily.sql": f"""
        {{{{ config(materialized='incremental', unique_key='day', incremental_strategy='delete+insert') }}}}
        select day, count(*) as n, sum(value) as total from {{{{ ref('events') }}}}
        {SINCE_DAY}
        group by day
        """,
    "models/inc_daily_grp.sql": f"""
        {{{{ config(materialized='incremental', unique_key=['day', 'grp'], incremental_strategy='delete+insert') }}}}
        select day, grp, count(*) as n, max(ts) as last_ts from {{{{ ref('events') }}}}
        {SINCE_DAY}
        group by all
        """,
    "models/inc_daily_ts.sql": f"""
        {{{{ config(materialized='incremental', unique_key='day_start', incremental_strategy='delete+insert') }}}}
        select cast(day as timestamp) as day_start, count(*) as n from {{{{ ref('events') }}}}
        {SINCE_DAY.replace("max(day)", "max(cast(day_start as date))")}
        group by all
        """,
}
INCREMENTAL = [name.split("/")[1][:-4] for name in MODELS]


def write_events(project: Project, events: list[tuple[int, str, int, int, str]]) -> None:
    lines = ["id,grp,value,ts,day", *(",".join(map(str, e)) for e in events)]
    (project.root / "seeds" / "events.csv").write_text("\n".join(lines) + "\n")


def tables(project: Project) -> dict[str, list[tuple]]:
    engine = open_query_engine(project)
    try:
        return {m: sorted(engine.con.sql(f"select * from {m}").fetchall()) for m in INCREMENTAL}
    finally:
        engine.close()


# one batch: events of (id, group, value, days after the previous event)
batches = st.lists(
    st.lists(
        st.tuples(
            st.integers(0, 5), st.sampled_from("ab"), st.integers(-50, 50), st.integers(0, 1)
        ),
        min_size=1,
        max_size=6,
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=batches)
def test_n_increments_equal_a_full_refresh(batches: list[list[tuple[int, str, int, int]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = write_project(Path(tmp), {**MODELS, "seeds/events.csv": "x\n"}, config=CONFIG)
        events: list[tuple[int, str, int, int, str]] = []
        day = 0
        for batch in batches:
            for ident, grp, value, step in batch:
                day += step
                events.append((ident, grp, value, len(events), f"2024-01-{day + 1:02d}"))
            write_events(project, events)
            report = run_project(project)
            assert report.ok, [(s.name, s.detail) for s in report.record.steps]
        incremental = tables(project)
        assert run_project(project, RunOptions(full_refresh=True)).ok
        assert incremental == tables(project)

        ids = [row[0] for row in incremental["inc_merge"]]
        assert len(ids) == len(set(ids)) == len({e[0] for e in events})  # merges never duplicate
        pairs = [row[:2] for row in incremental["inc_merge_pair"]]
        assert len(pairs) == len(set(pairs))
        assert len(incremental["inc_append"]) == len(events)
        assert sum(row[1] for row in incremental["inc_daily"]) == len(events)


def test_merge_refuses_duplicate_keys_in_new_rows(make_project: MakeProject) -> None:
    project = make_project(
        {
            "seeds/events.csv": "id,grp,value,ts,day\n1,a,1,1,2024-01-01\n",
            "models/m.sql": f"""
                {{{{ config(materialized='incremental', unique_key='id') }}}}
                select id, value, ts from {{{{ ref('events') }}}}
                {SINCE_TS}
                """,
        },
        config=CONFIG,
    )
    assert run_project(project).ok
    write_events(
        project,
        [(1, "a", 1, 1, "2024-01-01"), (2, "a", 5, 2, "2024-01-01"), (2, "b", 6, 3, "2024-01-01")],
    )
    report = run_project(project)
    step = report.step("m")
    assert step.status == "failed"
    assert "unique_key (id) is not unique in the new rows of 'm': 2 (2 rows)" in (step.detail or "")
    assert "models/m.sql:1" in (step.detail or "")
    assert tables_of(project, "m") == [(1, 1, 1)]  # nothing published


def test_unknown_unique_key_column(make_project: MakeProject) -> None:
    project = make_project(
        {
            "seeds/events.csv": "id,grp,value,ts,day\n1,a,1,1,2024-01-01\n",
            "models/m.sql": f"""
                {{{{ config(materialized='incremental', unique_key='idd', incremental_strategy='delete+insert') }}}}
                select id, value, ts from {{{{ ref('events') }}}}
                {SINCE_TS}
                """,
        },
        config=CONFIG,
    )
    assert run_project(project).ok  # the first build is a plain table
    write_events(project, [(1, "a", 1, 1, "2024-01-01"), (2, "a", 5, 2, "2024-01-01")])
    step = run_project(project).step("m")
    assert step.status == "failed"
    assert "unique_key column 'idd' is not a column of model 'm'" in (step.detail or "")
    assert "did you mean 'id'?" in (step.detail or "")


def tables_of(project: Project, name: str) -> list[tuple]:
    engine = open_query_engine(project)
    try:
        return sorted(engine.con.sql(f"select * from {name}").fetchall())
    finally:
        engine.close()


def test_merge_without_unique_key_is_a_config_error(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/m.sql": "{{ config(materialized='incremental', incremental_strategy='delete+insert') }}\nselect 1 as x"
        }
    )
    with pytest.raises(ConfigError, match="needs a unique_key"):
        run_project(project)


def test_column_type_change_hints_at_full_refresh(
    make_project: MakeProject, tmp_path: Path
) -> None:
    model = """
        {{ config(materialized='incremental') }}
        select id, VALUE as value, ts from {{ ref('events') }}
        {% if is_incremental() %}where ts > (select max(ts) from {{ this }}){% endif %}
        """
    project = make_project(
        {
            "seeds/events.csv": "id,grp,value,ts,day\n1,a,1,1,2024-01-01\n",
            "models/m.sql": model.replace("VALUE", "value"),
        },
        config=f"lake: {tmp_path / 'lake'}\n" + CONFIG,
    )
    assert run_project(project).ok
    (project.root / "models" / "m.sql").write_text(model.replace("VALUE", "'v' || value"))
    write_events(project, [(1, "a", 1, 1, "2024-01-01"), (2, "a", 5, 2, "2024-01-01")])
    step = run_project(load_project(project.root)).step("m")
    assert step.status == "failed"
    detail = step.detail or ""
    assert "cannot write column 'value' of type string into table 'm', where it is int64" in detail
    assert "duckpipe run --full-refresh -s m" in detail
    assert "schema_mode" not in detail
    assert DeltaTable(str(tmp_path / "lake" / "m")).to_pyarrow_table().to_pylist() == [
        {"id": 1, "value": 1, "ts": 1}
    ]  # nothing written
    report = run_project(load_project(project.root), RunOptions(full_refresh=True))
    assert report.ok
    rows = DeltaTable(str(tmp_path / "lake" / "m")).to_pyarrow_table().sort_by("id").to_pylist()
    assert [r["value"] for r in rows] == ["v1", "v5"]
