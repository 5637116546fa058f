"""The DuckDB engine: Arrow in and out, names, errors that point at the name."""

from __future__ import annotations

import pyarrow as pa
import pytest

from duckpipe.core.errors import ModelError, ProjectError
from duckpipe.engine import Engine


def test_register_query_and_replace() -> None:
    eng = Engine()
    eng.register("t", pa.table({"x": [1, 2, 3]}))
    assert eng.arrow("select sum(x) as s from t").to_pylist() == [{"s": 6}]
    eng.register("t", pa.table({"x": [10]}))
    assert eng.arrow("select sum(x) as s from t").to_pylist() == [{"s": 10}]
    assert "t" in eng.names()


def test_reader_streams_batches() -> None:
    eng = Engine()
    reader = eng.reader("select * from range(250000) r(i)", batch_size=100_000)
    sizes = [b.num_rows for b in reader]
    assert sum(sizes) == 250_000
    assert max(sizes) <= 100_000 * 2  # bounded by the batch size, not the result


def test_unknown_table_is_a_project_error_with_did_you_mean() -> None:
    eng = Engine()
    eng.register("orders", pa.table({"x": [1]}))
    with pytest.raises(ProjectError) as err:
        eng.arrow("select * from ordrs", where="models/a.sql")
    assert "models/a.sql" in str(err.value)
    assert "did you mean 'orders'" in str(err.value)


def test_sql_error_is_a_model_error() -> None:
    eng = Engine()
    with pytest.raises(ModelError, match="syntax error"):
        eng.execute("selec 1", where="models/b.sql")
