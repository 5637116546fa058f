"""Source contracts: required fields, types, nullability and a schema-evolution policy.

``Contract.check(batch)`` splits a record batch into the rows that conform (cast to the
declared types) and the rows that do not, each with the first rule it broke. The
checks are columnar: null counts, one cast per column, a few boolean kernels per batch.

Known columns (the landed table's, when it exists) keep the table's types: a value
that does not fit goes to the dead letter queue. The policy decides about the rest:

- ``evolve``: new columns pass through and are added to the table; a column that
  disappeared is landed as NULL;
- ``discard``: new columns are dropped; a column that disappeared is landed as NULL;
- ``freeze``: rows carrying a value in a new column go to the dead letter queue and the
  change is reported (the landing then stops the run with a ``ContractError``); a
  column that disappeared stops the run before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from duckpipe.core.errors import ContractError, did_you_mean
from duckpipe.ingest.coerce import coerce, parse_dtype

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import ContractConfig

REASON = "_dlq_reason"
COLUMN = "_dlq_column"


@dataclass
class Verdict:
    """One batch judged: ``good`` rows to land, ``bad`` rows (original values + reason)."""

    good: pa.RecordBatch
    bad: pa.Table | None = None
    failed: pa.Array | None = None
    """Per input row: True when it went to ``bad``."""

    @property
    def bad_rows(self) -> int:
        return 0 if self.bad is None else self.bad.num_rows


@dataclass
class _Shape:
    """How batches of one input schema are judged (computed once per schema)."""

    output: pa.Schema
    targets: dict[str, pa.DataType]
    new_columns: list[str] = field(default_factory=list)
    fill: list[str] = field(default_factory=list)


class Contract:
    """A source's contract, ready to judge batches (see the module docstring)."""

    def __init__(self, cfg: ContractConfig, *, source: str, known: pa.Schema | None = None) -> None:
        where = f"sources.{source}.contract.dtypes"
        self.cfg = cfg
        self.source = source
        self.known = known
        self.dtypes = {col: parse_dtype(t, where=f"{where}.{col}") for col, t in cfg.dtypes.items()}
        self.schema_changes: dict[str, str] = {}
        self._shapes: dict[pa.Schema, _Shape] = {}

    @property
    def is_trivial(self) -> bool:
        """True when no rule applies: every batch passes through unchanged."""
        return not (
            self.cfg.required_fields or self.cfg.not_null or self.dtypes or self.known is not None
        )

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        """The schema of the good rows for batches of ``schema``."""
        return self._shape(schema).output

    def _shape(self, schema: pa.Schema) -> _Shape:
        shape = self._shapes.get(schema)
        if shape is None:
            shape = self._shapes[schema] = self._plan(schema)
        return shape

    def _plan(self, schema: pa.Schema) -> _Shape:
        import pyarrow as pa

        missing = [c for c in self.cfg.required_fields if c not in schema.names]
        if missing:
            raise ContractError(
                f"required field(s) {', '.join(missing)} missing from source '{self.source}'",
                where=f"sources.{self.source}.contract.required_fields",
                hint=did_you_mean(missing[0], schema.names)
                or f"columns: {', '.join(schema.names)}",
            )
        policy = self.cfg.schema_policy
        known = self.known
        if known is None:
            targets = {f.name: self.dtypes.get(f.name, f.type) for f in schema}
            return _Shape(pa.schema([pa.field(n, t) for n, t in targets.items()]), targets)
        new = [n for n in schema.names if n not in known.names]
        gone = [n for n in known.names if n not in schema.names]
        if gone and policy == "freeze":
            raise ContractError(
                f"column(s) {', '.join(gone)} of source '{self.source}' disappeared "
                "(schema_policy: freeze)",
                where=f"sources.{self.source}",
                hint="restore the column in the source, or set schema_policy: evolve or discard",
            )
        if policy == "freeze":
            for name in new:
                self.schema_changes[name] = f"new column '{name}' ({schema.field(name).type})"
        targets = {f.name: self.dtypes.get(f.name, f.type) for f in known}
        if policy == "evolve":
            targets.update({n: self.dtypes.get(n, schema.field(n).type) for n in new})
        return _Shape(
            pa.schema([pa.field(n, t) for n, t in targets.items()]), targets, new, fill=gone
        )

    def check(self, batch: pa.RecordBatch) -> Verdict:
        """Split ``batch`` into conforming rows and rows for the dead letter queue."""
        import pyarrow as pa
        import pyarrow.compute as pc

        shape = self._shape(batch.schema)
        columns: list[pa.Array] = []
        fitted: dict[str, pa.Array] = {}
        misfits: dict[str, pa.Array] = {}
        type_rules: list[tuple[pa.Array, str, str]] = []  # (failed mask, reason, column)
        for name, target in shape.targets.items():
            if name in shape.fill:
                columns.append(pa.nulls(batch.num_rows, target))
                continue
            array = batch.column(name)
            if array.type != target:
                array, failed = coerce(array, target, column=name)
                if pc.any(failed).as_py():
                    misfits[name] = failed
                    value_type = _label(batch.schema.field(name).type)
                    reason = f"value of type {value_type} does not fit {target}"
                    type_rules.append((failed, reason, name))
            fitted[name] = array
            columns.append(array)
        rules: list[tuple[pa.Array, str, str]] = []
        for cols, text in (
            (self.cfg.required_fields, "required field '{}' is null"),
            (self.cfg.not_null, "'{}' is null (not_null)"),
        ):
            for col in cols:
                values = fitted.get(col, batch.column(col) if col in batch.schema.names else None)
                if values is None or not values.null_count:
                    continue
                missing = values.is_null()
                if col in misfits:  # a value that did not fit is reported as such
                    missing = pc.and_(missing, pc.invert(misfits[col]))
                rules.append((missing, text.format(col), col))
        rules.extend(type_rules)
        if self.cfg.schema_policy == "freeze":
            for name in shape.new_columns:
                if batch.column(name).null_count < batch.num_rows:
                    reason = f"new column '{name}' is not in the frozen schema"
                    rules.append((batch.column(name).is_valid(), reason, name))
        conformed = pa.RecordBatch.from_arrays(columns, schema=shape.output)
        if not rules:
            return Verdict(conformed)
        failed_any, reason, column = _first_failure(rules)
        if not pc.any(failed_any).as_py():
            return Verdict(conformed)
        bad = pa.Table.from_batches([batch.filter(failed_any)])
        bad = bad.append_column(REASON, reason.filter(failed_any))
        bad = bad.append_column(COLUMN, column.filter(failed_any))
        return Verdict(conformed.filter(pc.invert(failed_any)), bad, failed_any)


def _label(t: pa.DataType) -> str:
    """A type's name for people: every flavour of Arrow string is 'text'."""
    import pyarrow as pa

    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    return str(t)


def _first_failure(rules: list[tuple[pa.Array, str, str]]) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Per row: whether any rule failed, and the reason and column of the first one that did."""
    import pyarrow as pa
    import pyarrow.compute as pc

    length = len(rules[0][0])
    failed_any = pa.repeat(pa.scalar(False), length)
    reason = pa.nulls(length, pa.string())
    column = pa.nulls(length, pa.string())
    for mask, text, col in rules:
        mask = pc.fill_null(mask, False)
        first = pc.and_(mask, pc.invert(failed_any))
        reason = pc.if_else(first, pa.scalar(text), reason)
        column = pc.if_else(first, pa.scalar(col), column)
        failed_any = pc.or_(failed_any, mask)
    return failed_any, reason, column
