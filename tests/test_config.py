"""duckpipe.yml validation: every error names the file, the line and the key."""

from __future__ import annotations

import pytest

from duckpipe.config import load_config, parse_config
from duckpipe.errors import ConfigError


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
