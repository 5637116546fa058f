from decimal import Decimal

import pyarrow as pa
import pytest

from duckpipe.config import ContractConfig
from duckpipe.core.errors import ConfigError, ContractError
from duckpipe.ingest.coerce import coerce, parse_dtype
from duckpipe.ingest.contracts import COLUMN, REASON, Contract


def judge(cfg: dict, batch: pa.RecordBatch, known: pa.Schema | None = None):
    contract = Contract(ContractConfig(**cfg), source="orders", known=known)
    return contract, contract.check(batch)


def test_good_rows_pass_and_bad_rows_carry_reason_and_column():
    batch = pa.record_batch(
        {
            "id": [1, None, 3, 4],
            "amount": ["1.5", "2", "abc", None],
            "note": ["a", "b", "c", None],
        }
    )
    _, verdict = judge(
        {"required_fields": ["id"], "dtypes": {"amount": "double"}, "not_null": ["note"]}, batch
    )
    assert verdict.good.to_pylist() == [{"id": 1, "amount": 1.5, "note": "a"}]
    assert verdict.good.schema.field("amount").type == pa.float64()
    bad = verdict.bad.to_pylist()
    assert [(r["id"], r[REASON], r[COLUMN]) for r in bad] == [
        (None, "required field 'id' is null", "id"),
        (3, "value of type text does not fit double", "amount"),
        (4, "'note' is null (not_null)", "note"),
    ]
    # the original values are kept for the dead letter queue, not the cast ones
    assert bad[1]["amount"] == "abc"
    assert verdict.failed.to_pylist() == [False, True, True, True]


def test_first_broken_rule_wins_per_row():
    batch = pa.record_batch({"id": [None], "amount": ["x"]})
    _, verdict = judge({"required_fields": ["id"], "dtypes": {"amount": "int64"}}, batch)
    assert verdict.bad.column(REASON).to_pylist() == ["required field 'id' is null"]


def test_clean_batch_passes_whole():
    batch = pa.record_batch({"id": [1, 2], "amount": [1.0, 2.0]})
    contract, verdict = judge({"required_fields": ["id"], "dtypes": {"amount": "double"}}, batch)
    assert verdict.bad is None
    assert verdict.good.equals(batch)
    assert not contract.is_trivial


def test_missing_required_column_stops_with_did_you_mean():
    with pytest.raises(ContractError) as err:
        judge({"required_fields": ["customer_id"]}, pa.record_batch({"customer": [1]}))
    assert "customer_id" in str(err.value)
    assert err.value.where == "sources.orders.contract.required_fields"


def test_unknown_dtype_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        judge({"dtypes": {"id": "integr"}}, pa.record_batch({"id": [1]}))
    assert err.value.where == "sources.orders.contract.dtypes.id"
    assert "integer" in str(err.value)


KNOWN = pa.schema([("id", pa.int64()), ("amount", pa.float64())])


def test_freeze_sends_rows_with_a_new_column_to_the_dlq():
    batch = pa.record_batch({"id": [1, 2], "amount": [1.0, 2.0], "coupon": [None, "X"]})
    contract, verdict = judge({"schema_policy": "freeze"}, batch, KNOWN)
    assert verdict.good.to_pylist() == [{"id": 1, "amount": 1.0}]
    assert verdict.bad.to_pylist()[0]["coupon"] == "X"
    assert (
        verdict.bad.column(REASON)[0].as_py() == "new column 'coupon' is not in the frozen schema"
    )
    assert list(contract.schema_changes) == ["coupon"]


def test_freeze_stops_when_a_column_disappears():
    with pytest.raises(ContractError, match="disappeared"):
        judge({"schema_policy": "freeze"}, pa.record_batch({"id": [1]}), KNOWN)


def test_discard_drops_new_columns_and_fills_missing_ones():
    batch = pa.record_batch({"id": [1], "coupon": ["X"]})
    contract, verdict = judge({"schema_policy": "discard"}, batch, KNOWN)
    assert verdict.good.to_pylist() == [{"id": 1, "amount": None}]
    assert verdict.good.schema == KNOWN
    assert contract.schema_changes == {}


def test_evolve_keeps_new_columns_and_the_known_types():
    batch = pa.record_batch(
        {"id": pa.array([1, 2], pa.int32()), "amount": ["2.5", "oops"], "coupon": ["X", None]}
    )
    _, verdict = judge({"schema_policy": "evolve"}, batch, KNOWN)
    assert verdict.good.schema.names == ["id", "amount", "coupon"]
    assert verdict.good.schema.field("id").type == pa.int64()
    assert verdict.good.to_pylist() == [{"id": 1, "amount": 2.5, "coupon": "X"}]
    assert verdict.bad.column(COLUMN).to_pylist() == ["amount"]


@pytest.mark.parametrize(
    ("values", "dtype", "fitted", "failed"),
    [
        (["1", "x", None], "int64", [1, None, None], [False, True, False]),
        ([1.0, 1.5], "int64", [1, None], [False, True]),
        (["12.34", "abc"], "decimal(10,2)", [Decimal("12.34"), None], [False, True]),
        (["true", "maybe"], "bool", [True, None], [False, True]),
        (["2024-02-30", "2024-02-28"], "date", [None, "2024-02-28"], [True, False]),
    ],
)
def test_coerce_finds_exactly_the_values_that_do_not_fit(values, dtype, fitted, failed):
    target = parse_dtype(dtype, where="x")
    result, mask = coerce(pa.array(values), target)
    assert result.type == target
    assert [
        None if v is None else str(v) if dtype == "date" else v for v in result.to_pylist()
    ] == fitted
    assert mask.to_pylist() == failed


def test_an_empty_text_field_is_missing_not_mistyped():
    batch = pa.record_batch({"amount": ["1.5", "", "  ", "x"]})
    _, verdict = judge({"required_fields": ["amount"], "dtypes": {"amount": "double"}}, batch)
    assert verdict.good.to_pylist() == [{"amount": 1.5}]
    assert verdict.bad.column(REASON).to_pylist() == [
        "required field 'amount' is null",
        "required field 'amount' is null",
        "value of type text does not fit double",
    ]
