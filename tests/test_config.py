"""duckpipe.yml validation: every error names the file, the line and the key."""

from __future__ import annotations

import pytest

from duckpipe.config import load_config, parse_config
from duckpipe.core.errors import ConfigError


def test_minimal_config_gets_defaults() -> None:
    cfg = parse_config("name: shop\n")
    assert cfg.name == "shop"
    assert cfg.lake == "./lake"
    assert cfg.format == "delta"
    assert cfg.models.defaults.materialized == "view"


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("name: shop\nsorces: {}\n", file="proj/duckpipe.yml")
    text = str(err.value)
    assert text.startswith("proj/duckpipe.yml:2: unknown key 'sorces'")
    assert "did you mean 'sources'" in text
    assert err.value.exit_code == 2


def test_misspelt_nested_key_names_the_path_and_line() -> None:
    text = "sources:\n  orders:\n    uri: a.csv\n    watermark_colum: updated_at\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert "duckpipe.yml:4" in str(err.value)
    assert "sources.orders.watermark_colum" in str(err.value)
    assert "did you mean 'watermark_column'" in str(err.value)


def test_wrong_type_names_key_and_value() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("sources:\n  orders:\n    uri: a.csv\n    batch_size: lots\n")
    assert "duckpipe.yml:4" in str(err.value)
    assert "sources.orders.batch_size" in str(err.value)
    assert "'lots'" in str(err.value)


def test_wrong_enum_value() -> None:
    with pytest.raises(ConfigError, match="invalid value for 'format'"):
        parse_config("format: parquet\n")


def test_missing_required_key() -> None:
    with pytest.raises(ConfigError, match=r"missing required key 'sources\.orders\.uri'"):
        parse_config("sources:\n  orders:\n    table: orders\n")


def test_env_vars_are_interpolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DP_LAKE", "s3://bucket/lake")
    cfg = parse_config("lake: ${DP_LAKE}\nname: ${DP_NAME:-fallback}\n")
    assert cfg.lake == "s3://bucket/lake"
    assert cfg.name == "fallback"


def test_unset_env_var_is_an_error_with_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DP_NOT_SET", raising=False)
    with pytest.raises(ConfigError) as err:
        parse_config("name: x\nlake: ${DP_NOT_SET}\n")
    assert "duckpipe.yml:2" in str(err.value)
    assert "DP_NOT_SET" in str(err.value)


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"duckpipe.yml:2: invalid YAML"):
        parse_config("name: x\nsources: [a\n")


def test_missing_file_says_how_to_start(tmp_path) -> None:
    with pytest.raises(ConfigError, match="duckpipe init"):
        load_config(tmp_path)


def test_source_type_comes_from_the_uri_scheme() -> None:
    cfg = parse_config(
        "sources:\n  a: {uri: 'postgresql://h/db', table: t}\n  b: {uri: data/*.csv}\n"
        "  c: {uri: 'kafka://localhost:9092', topics: clicks}\n"
    )
    assert [s.resolved_type() for s in cfg.sources.values()] == ["postgres", "files", "kafka"]
    assert cfg.sources["c"].topics == ["clicks"]


@pytest.mark.parametrize(
    ("text", "key", "first", "second"),
    [
        ("name: a\nmodels: {}\nlake: x\nmodels:\n  defaults: {}\n", "models", 2, 4),
        (
            "sources:\n  orders:\n    uri: a.csv\n  orders:\n    uri: b.csv\n",
            "sources.orders",
            2,
            4,
        ),
        (
            "sources:\n  orders:\n    uri: a.csv\n    table: t\n    uri: b.csv\n",
            "sources.orders.uri",
            3,
            5,
        ),
        (
            "streams:\n  clicks:\n    topic: t\n    sinks: [{table: a, table: b}]\n",
            "streams.clicks.sinks.0.table",
            4,
            4,
        ),
    ],
)
def test_duplicate_key_names_file_key_both_lines_and_a_fix(
    text: str, key: str, first: int, second: int
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, file="proj/duckpipe.yml")
    assert err.value.where == f"proj/duckpipe.yml:{second}"
    assert err.value.message.startswith(
        f"duplicate key '{key}' (first at line {first}, again at line {second})"
    )
    assert err.value.hint == (
        f"merge the two '{key.rsplit('.', 1)[-1]}:' entries into one, "
        "or delete the one you do not mean"
    )
    assert err.value.exit_code == 2


def test_a_merge_key_may_still_be_overridden() -> None:
    text = (
        "vars:\n  base: &base {uri: a.csv, table: t}\n"
        "sources:\n  orders:\n    <<: *base\n    uri: b.csv\n"
    )
    cfg = parse_config(text)
    assert cfg.sources["orders"].uri == "b.csv"
    assert cfg.sources["orders"].table == "t"


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing yet\n  # still nothing\n"])
def test_empty_config_is_an_error_saying_what_to_add(tmp_path, text: str) -> None:
    (tmp_path / "duckpipe.yml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert err.value.where == str(tmp_path / "duckpipe.yml")
    assert "the file is empty" in err.value.message
    assert "add at least 'name: <project>'" in (err.value.hint or "")
    assert err.value.exit_code == 2
