"""dbt-compatible Jinja: every construct renders as in dbt, and SQL lines keep their file line."""

from __future__ import annotations

from pathlib import Path

import pytest

from duckpipe.core.errors import ProjectError
from duckpipe.transform.context import Relation
from duckpipe.transform.render import Renderer, strip_markers


def render(source: str, *, root: Path, incremental: bool = False, vars: dict | None = None):
    return Renderer(root).render(
        "models/m.sql",
        source,
        model="m",
        incremental=incremental,
        vars=vars or {},
        ref=lambda name, line: Relation(name),
        source_table=lambda src, table, line: Relation(f"raw_{table}"),
    )


MODEL = """\
{{ config(materialized='incremental', unique_key='id') }}
{#- a Jinja comment
    over two lines -#}
{%- set columns = ['a', 'b'] %}
select
    id,
    {%- for c in columns %}
    {{ c }} * {{ var('factor', 2) }} as {{ c }}_x,
    {%- endfor %}
    '{{ this }}' as me
from {{ ref('upstream') }} join {{ source('shop', 'orders') }} using (id)
{% if is_incremental() -%}
where id > (select max(id) from {{ this }})
{%- endif %}
"""


def test_every_construct_renders_like_dbt(tmp_path: Path) -> None:
    full = render(MODEL, root=tmp_path)
    assert full.sql.strip() == (
        "select\n    id,\n    a * 2 as a_x,\n    b * 2 as b_x,\n"
        "    '\"m\"' as me\n"
        'from "upstream" join "raw_orders" using (id)'
    )
    assert full.config == [({"materialized": "incremental", "unique_key": "id"}, 1)]
    assert full.refs == [("upstream", 11)]
    assert full.sources == [("shop", "orders", 11)]

    inc = render(MODEL, root=tmp_path, incremental=True, vars={"factor": 10})
    assert "a * 10 as a_x" in inc.sql
    assert inc.sql.rstrip().endswith('where id > (select max(id) from "m")')


def test_each_output_line_knows_its_file_line(tmp_path: Path) -> None:
    out = render(MODEL, root=tmp_path, incremental=True)
    by_text = dict(zip(out.sql.split("\n"), out.lines, strict=True))
    assert by_text["select"] == 5
    assert by_text["    a * 2 as a_x,"] == 8  # the loop body line, for every iteration
    assert by_text["    b * 2 as b_x,"] == 8
    assert by_text['from "upstream" join "raw_orders" using (id)'] == 11
    assert by_text['where id > (select max(id) from "m")'] == 13


def test_markers_are_removed_and_mapped() -> None:
    assert strip_markers("\ue0003\ue001select 1\n  x\n\ue0009\ue001from t") == (
        "select 1\n  x\nfrom t",
        [3, 3, 9],
    )


def test_block_set_values_are_not_marked(tmp_path: Path) -> None:
    out = render(
        "{% set v %}abc{% endset %}\nselect '{{ v | upper }}' as v, {{ v == 'abc' }} as same",
        root=tmp_path,
    )
    assert out.sql.strip() == "select 'ABC' as v, True as same"


def test_macros_folder_with_return(tmp_path: Path) -> None:
    (tmp_path / "macros").mkdir()
    (tmp_path / "macros" / "money.sql").write_text(
        "{% macro cents_to_dollars(col) %}({{ col }} / 100.0){% endmacro %}\n"
        "{% macro statuses() %}{{ return(['open', 'done']) }}{% endmacro %}\n"
    )
    out = render(
        "select {{ cents_to_dollars('amount') }} as usd, {{ statuses() | length }} as n",
        root=tmp_path,
    )
    assert out.sql == "select (amount / 100.0) as usd, 2 as n"


@pytest.mark.parametrize(
    ("source", "line", "text"),
    [
        ("select\n  {{ var('missing') }}", 2, "var('missing') is not set"),
        ("select 1\n\nfrom {{ undefined_thing }}", 3, "'undefined_thing' is undefined"),
        ("select 1\n{% if true %}\nfrom t", 2, "endif"),
        ("select 1\n{{ env_var('DUCKPIPE_SURELY_UNSET') }}", 2, "env_var('DUCKPIPE_SURELY_UNSET')"),
        ("select\n{{ exceptions.raise_compiler_error('bad input') }}", 2, "bad input"),
    ],
)
def test_template_errors_name_file_and_line(
    tmp_path: Path, source: str, line: int, text: str
) -> None:
    from duckpipe.core.errors import DuckpipeError

    with pytest.raises(DuckpipeError) as err:
        render(source, root=tmp_path)
    assert err.value.where == f"models/m.sql:{line}"
    assert text in str(err.value)


def test_config_get_reads_what_config_set(tmp_path: Path) -> None:
    out = render(
        "{{ config(materialized='table', tags=['x']) }}select '{{ config.get('materialized') }}' as m",
        root=tmp_path,
    )
    assert out.sql == "select 'table' as m"
    with pytest.raises(ProjectError):
        render("select {{ ref() }}", root=tmp_path)
