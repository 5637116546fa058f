"""Model configuration layers: project defaults < folders < header comment < {{ config() }}."""

from __future__ import annotations

import pytest

from duckpipe.core.errors import ConfigError
from duckpipe.transform.graph import build_graph

from .conftest import MakeProject

FOLDERS = """
models:
  defaults: {materialized: view, tags: [all]}
  paths:
    marts: {materialized: table, tags: [marts]}
    marts/finance: {materialized: incremental, unique_key: id, tags: finance}
"""


def test_layers_apply_in_order_and_tags_add_up(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/staging/s.sql": "select 1 as id",
            "models/marts/m.sql": "select 1 as id",
            "models/marts/finance/f.sql": "select 1 as id",
            "models/marts/finance/h.sql": "-- materialized: table\n-- tags: [hdr]\nselect 1 as id",
            "models/marts/finance/c.sql": (
                "-- materialized: table\n"
                "{{ config(materialized='incremental', incremental_strategy='delete+insert', "
                "partition_by='id') }}\nselect 1 as id"
            ),
        },
        config=FOLDERS,
    )
    models = build_graph(project).models
    assert (models["s"].materialized, models["s"].config.tags) == ("view", ["all"])
    assert (models["m"].materialized, models["m"].config.tags) == ("table", ["all", "marts"])
    f = models["f"].config
    assert (f.materialized, f.unique_key, f.strategy) == ("incremental", ["id"], "merge")
    assert f.tags == ["all", "marts", "finance"]
    h = models["h"].config
    assert (h.materialized, h.tags) == ("table", ["all", "marts", "finance", "hdr"])
    assert h.where["materialized"] == "models/marts/finance/h.sql:1"
    c = models["c"].config
    assert (c.materialized, c.strategy, c.partition_by) == ("incremental", "delete+insert", ["id"])
    assert c.where["materialized"] == "models/marts/finance/c.sql:2"


def test_plain_header_comments_stay_comments(make_project: MakeProject) -> None:
    project = make_project(
        {"models/a.sql": "-- Revenue per customer: all of it\n-- note: hi\nselect 1 as x"}
    )
    assert build_graph(project).models["a"].materialized == "view"


def test_misspelt_header_key_is_an_error(make_project: MakeProject) -> None:
    project = make_project({"models/a.sql": "-- materialised: table\nselect 1 as x"})
    with pytest.raises(ConfigError) as err:
        build_graph(project)
    assert err.value.where == "models/a.sql:1"
    assert "did you mean 'materialized'?" in str(err.value)


def test_merge_needs_a_unique_key(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/a.sql": "{{ config(materialized='incremental', incremental_strategy='merge') }}select 1 as x"
        }
    )
    with pytest.raises(ConfigError, match="needs a unique_key") as err:
        build_graph(project)
    assert err.value.where == "models/a.sql:1"


def test_default_strategy_is_append_without_a_key(make_project: MakeProject) -> None:
    project = make_project(
        {"models/a.sql": "{{ config(materialized='incremental') }}select 1 as x"}
    )
    config = build_graph(project).models["a"].config
    assert config.strategy == "append"
    assert config.to_dict()["incremental_strategy"] == "append"


def test_dbt_only_settings_are_accepted(make_project: MakeProject) -> None:
    project = make_project(
        {
            "models/a.sql": "{{ config(materialized='table', schema='analytics', alias='x', meta={'owner': 'me'}) }}select 1 as x"
        }
    )
    config = build_graph(project).models["a"].config
    assert config.extra == {"schema": "analytics", "alias": "x", "meta": {"owner": "me"}}


def test_model_header_setting_twice_or_a_duplicate_key_in_its_value_is_an_error(
    make_project: MakeProject,
) -> None:
    twice = make_project(
        {"models/m.sql": "-- materialized: table\n-- tags: [a]\n-- materialized: view\nselect 1"}
    )
    with pytest.raises(ConfigError) as err:
        build_graph(twice)
    assert err.value.where == "models/m.sql:3"
    assert "duplicate model setting 'materialized'" in err.value.message
    assert "first at line 1, again at line 3" in err.value.message
    assert "merge the two '-- materialized:' lines" in str(err.value.hint)

    nested = make_project(
        {"models/n.sql": "-- materialized: table\n-- tags: {owner: ann, owner: bob}\nselect 1"}
    )
    with pytest.raises(ConfigError) as err:
        build_graph(nested)
    assert err.value.where == "models/n.sql:2"
    assert "duplicate key 'tags.owner' (first at line 2, again at line 2)" in err.value.message
