"""Kafka payloads -> typed Arrow columns, with every rejected message kept.

JSON values become one column per top-level field. The types come from what is
already known (the table, the contract's ``dtypes``) and, for new fields, from what
the batch holds (``schema_policy: evolve``). A message that is not UTF-8, not JSON,
not an object, misses a required field, holds a null where ``not_null`` forbids it,
holds a value of the wrong type or (``freeze``) an unexpected field is not dropped:
it comes back in ``rejects`` with its topic/partition/offset and the reason.

A batch that fits the known schema is parsed by Arrow's JSON reader (``fastjson``);
any other batch is checked in one DuckDB query that types every field and names the
first failure of each message. No Python loop touches a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from duckpipe.core.errors import ConfigError
from duckpipe.core.sql import quote, sql_string

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import ContractConfig


class Engine(Protocol):
    """What the decoder needs of a DuckDB engine (``duckpipe.engine.Engine`` is one)."""

    def register(self, name: str, data: object) -> None: ...

    def unregister(self, name: str) -> None: ...

    def arrow(
        self, sql: str, params: list[Any] | None = None, *, where: str | None = None
    ) -> pa.Table: ...


META_COLUMNS = ("_topic", "_partition", "_offset", "_timestamp", "_key", "_headers")
DTYPE_ALIASES = {
    "int": "BIGINT",
    "int64": "BIGINT",
    "long": "BIGINT",
    "int32": "INTEGER",
    "int16": "SMALLINT",
    "float": "DOUBLE",
    "float64": "DOUBLE",
    "double": "DOUBLE",
    "float32": "FLOAT",
    "str": "VARCHAR",
    "string": "VARCHAR",
    "utf8": "VARCHAR",
    "text": "VARCHAR",
    "bool": "BOOLEAN",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
    "datetime": "TIMESTAMPTZ",
    "date": "DATE",
    "binary": "BLOB",
    "bytes": "BLOB",
}
_UNDECODABLE = """case
    when _value is null then 'the message has no value'
    when _text is null then 'the value is not UTF-8 text'
    when _type is null then 'the value is not valid JSON'
    when _type <> 'OBJECT' then 'the JSON value is ' || lower(_type) || ', not an object'
    end"""
_OBJECTS = """(select _text from (select try(decode(_value)) as _text from _dp_raw)
    where case when json_valid(_text) then json_type(_text) = 'OBJECT' else false end)"""
_INTEGER_KINDS = "('UBIGINT', 'BIGINT')"
SAMPLE_ROWS = 1_000
"""Messages a batch that brings new fields is first checked on, to learn their types."""
_NUMBER_KINDS = "('UBIGINT', 'BIGINT', 'DOUBLE')"


@dataclass
class Decoded:
    """One batch after decoding: good rows (metadata + payload columns) and rejected raw rows."""

    rows: pa.Table
    rejects: pa.Table
    new_fields: list[str] = field(default_factory=list)


def duckdb_type(dtype: str) -> str:
    """A contract dtype (``int64``, ``string``, ``timestamp``, or a DuckDB type) -> DuckDB type."""
    return DTYPE_ALIASES.get(dtype.strip().lower(), dtype.strip().upper())


def arrow_to_duckdb(engine: Engine, fields: list[pa.Field]) -> dict[str, str]:
    """DuckDB type names of Arrow fields (as DuckDB reads them), by column name."""
    import pyarrow as pa

    if not fields:
        return {}
    engine.register("_dp_types", pa.schema(fields).empty_table())
    try:
        described = engine.arrow("describe _dp_types").to_pylist()
    finally:
        engine.unregister("_dp_types")
    return {row["column_name"]: row["column_type"] for row in described}


class JsonDecoder:
    """Decodes JSON batches against a schema that grows as new fields appear (``evolve``)."""

    def __init__(
        self,
        engine: Engine,
        contract: ContractConfig,
        *,
        known: dict[str, str] | None = None,
        where: str = "stream",
    ) -> None:
        self.engine = engine
        self.contract = contract
        self.where = where
        self.known: dict[str, str] = {}
        for name, dtype in contract.dtypes.items():
            self.known[name] = self._checked_type(name, duckdb_type(dtype))
        for name, dtype in (known or {}).items():
            self.known.setdefault(name, dtype)
        self._arrow_key: tuple[tuple[str, str], ...] | None = None
        self._arrow_schema: pa.Schema | None = None

    def _checked_type(self, name: str, dtype: str) -> str:
        try:
            self.engine.arrow(f"select null::{dtype} as x")
        except Exception:
            raise ConfigError(
                f"unknown dtype '{dtype}' for field '{name}'",
                where=f"{self.where}: contract.dtypes.{name}",
                hint="use int64, float64, string, bool, timestamp, date, or a DuckDB type",
            ) from None
        return dtype

    def decode(self, raw: pa.Table) -> Decoded:
        """Split ``raw`` (``raw_schema()``) into decoded rows and rejects (raw columns + ``_reason``).

        The Kafka columns of both come from ``raw`` itself (by row number), so their Arrow
        types are the same whichever path decoded the batch.
        """
        import pyarrow.compute as pc

        fast = self._fast(raw) or self._fast_after_sample(raw)
        if fast is not None:
            return fast
        decoded, new_fields = self._checked(raw)
        failed = pc.is_valid(decoded.column("_reason"))
        good, bad = decoded.filter(pc.invert(failed)), decoded.filter(failed)
        rows = raw.select([*META_COLUMNS, "_value"]).take(good.column("_i"))
        for name in self.known:
            rows = rows.append_column(name, good.column(name))
        rejects = raw.select([*META_COLUMNS, "_value"]).take(bad.column("_i"))
        rejects = rejects.append_column("_reason", bad.column("_reason"))
        return Decoded(rows, rejects, new_fields)

    def _checked(self, raw: pa.Table) -> tuple[pa.Table, list[str]]:
        """The checked query over ``raw``, after learning the fields it brings (``_learn``)."""
        import pyarrow as pa

        values = pa.table(
            {"_i": pa.array(range(raw.num_rows), pa.int64()), "_value": raw.column("_value")}
        )
        self.engine.register("_dp_raw", values)
        try:
            decoded = self.engine.arrow(self._decode_sql(), where=self.where)
            new_fields = self._learn(decoded.column("_keys"))
            if new_fields:  # rare: the schema grew; type the batch again with the new fields
                decoded = self.engine.arrow(self._decode_sql(), where=self.where)
        finally:
            self.engine.unregister("_dp_raw")
        return decoded, new_fields

    def _fast_after_sample(self, raw: pa.Table) -> Decoded | None:
        """New fields learned from the batch's first messages, then the fast path for all of it.

        The first batch of a new table (nothing known yet) and a batch that brings a new
        field would otherwise take the checked path as a whole. When the fast path still
        fails (a field the sample did not show, a value of another type further on), what
        the sample taught is forgotten, so the checked path learns from the whole batch
        exactly as it would have.
        """
        if raw.num_rows <= SAMPLE_ROWS:
            return None
        before = dict(self.known)
        _, learned = self._checked(raw.slice(0, SAMPLE_ROWS))
        if not learned:
            return None
        fast = self._fast(raw)
        if fast is None:
            self.known = before
            return None
        fast.new_fields = learned
        return fast

    def _fast(self, raw: pa.Table) -> Decoded | None:
        """Every message fits the known schema: let Arrow's JSON reader type them (no rejects)."""
        import pyarrow as pa

        from duckpipe.kafka.fastjson import read_known

        if not self.known:
            return None
        key = tuple(self.known.items())
        if self._arrow_key != key:
            names = ", ".join(f"null::{t} as {quote(n)}" for n, t in self.known.items())
            self._arrow_schema = self.engine.arrow(f"select {names} limit 0").schema
            self._arrow_key = key
        typed = read_known(raw.column("_value"), self._arrow_schema, self.contract)
        if typed is None:
            return None
        rows = raw.select([*META_COLUMNS, "_value"])
        for typed_field, column in zip(typed.schema, typed.columns, strict=True):
            rows = rows.append_column(typed_field, column)
        rejects = rows.schema.empty_table().select([*META_COLUMNS, "_value"])
        rejects = rejects.append_column("_reason", pa.array([], pa.string()))
        return Decoded(rows, rejects, [])

    # -- schema --------------------------------------------------------------------
    def _learn(self, keys: pa.ChunkedArray) -> list[str]:
        """Types for fields not seen before (``evolve``), inferred from this batch."""
        import pyarrow.compute as pc

        seen = pc.unique(pc.list_flatten(keys)).to_pylist() if len(keys) else []
        unknown = [k for k in seen if k is not None and k not in self.known]
        unknown = [k for k in unknown if k not in META_COLUMNS]
        declared = {*self.contract.required_fields, *self.contract.not_null}
        if self.contract.schema_policy != "evolve" and self.known:
            unknown = [k for k in unknown if k in declared]  # freeze/discard learn declared fields
        if not unknown:
            return []
        probe = json.dumps({k: "JSON" for k in unknown})
        structure = (
            self.engine.arrow(
                f"select json_group_structure(json_transform(_text, {sql_string(probe)})::JSON) "
                f"from {_OBJECTS}"
            )
            .column(0)[0]
            .as_py()
        )
        inferred = json.loads(structure) if structure else {}
        added = []
        for name in unknown:
            dtype = _type_of(inferred.get(name, "NULL"))
            if dtype is not None:  # a field that was only ever null gets a type later
                self.known[name] = dtype
                added.append(name)
        return added

    def _decode_sql(self) -> str:
        """One query: every field typed, and the first failure of each message as ``_reason``.

        JSON kinds (``json_type``) are read for the typed fields in one call, so a value
        of the wrong kind (4.5 for a BIGINT, "5" for a DOUBLE) is caught, not coerced.
        """
        contract = self.contract
        typed = [n for n, t in self.known.items() if t != "VARCHAR"]
        kind = {name: f"_kinds[{i + 1}]" for i, name in enumerate(typed)}
        checks: list[str] = []
        for name in contract.required_fields:
            checks.append(
                f"when not list_contains(_keys, {sql_string(name)}) "
                f"then {sql_string(f'required field {name!r} is missing')}"
            )
        for name in contract.not_null:
            if name in kind:
                null = f"({kind[name]} is null or {kind[name]} = 'NULL')"
            elif name in self.known:
                null = f"_val.{quote(name)} is null"
            else:
                null = "true"
            checks.append(f"when {null} then {sql_string(f'field {name!r} is null')}")
        for name in typed:
            dtype, k = self.known[name], kind[name]
            accepted = _accepted_kinds(dtype)
            wrong = f"{k} not in {accepted} or " if accepted else ""
            value = f"left(json_extract(_text, {_path(name)})::VARCHAR, 80)"
            checks.append(
                f"when {k} is not null and {k} <> 'NULL' and ({wrong}_val.{quote(name)} is null) "
                f"then {sql_string(f'field {name!r} is not {dtype}: ')} || {value}"
            )
        if contract.schema_policy == "freeze":
            allowed = "[" + ", ".join(sql_string(k) for k in self.known) + "]::VARCHAR[]"
            unexpected = f"list_filter(_keys, lambda k: not list_contains({allowed}, k))"
            checks.append(
                f"when len({unexpected}) > 0 "
                f"then 'unexpected field ' || {unexpected}[1] || ' (schema_policy: freeze)'"
            )
        columns = ["*", "case when _bad is null then json_keys(_text) end as _keys"]
        if self.known:
            structure = sql_string(json.dumps(self.known))
            columns.append(
                f"case when _bad is null then json_transform(_text, {structure}) end as _val"
            )
        if typed:
            paths = "[" + ", ".join(_path(n) for n in typed) + "]"
            columns.append(f"case when _bad is null then json_type(_text, {paths}) end as _kinds")
        reason = f"coalesce(_bad, case {' '.join(checks)} end)" if checks else "_bad"
        payload = ", unnest(_val)" if self.known else ""
        return f"""select _i{payload}, _keys, {reason} as _reason from (
            select {", ".join(columns)} from (
                select *, {_UNDECODABLE} as _bad from (
                    select *, try(json_type(_text)) as _type
                    from (select *, try(decode(_value)) as _text from _dp_raw)
                )
            )
        )"""


def _path(name: str) -> str:
    return sql_string('$."' + name.replace('"', '\\"') + '"')


def _type_of(structure: object) -> str | None:
    """A ``json_group_structure`` entry -> the DuckDB type a new column gets (None: unknown)."""
    if isinstance(structure, list):
        inner = _type_of(structure[0]) if structure else None
        return f"{inner or 'VARCHAR'}[]"
    if isinstance(structure, dict):
        fields = [f"{quote(k)} {_type_of(v) or 'VARCHAR'}" for k, v in structure.items()]
        return f"STRUCT({', '.join(fields)})" if fields else "VARCHAR"
    return {
        "UBIGINT": "BIGINT",
        "HUGEINT": "BIGINT",
        "BIGINT": "BIGINT",
        "DOUBLE": "DOUBLE",
        "BOOLEAN": "BOOLEAN",
        "VARCHAR": "VARCHAR",
        "JSON": "VARCHAR",
        "NULL": None,
    }.get(str(structure), "VARCHAR")


def _accepted_kinds(dtype: str) -> str | None:
    """Which JSON value kinds may fill a column of DuckDB type ``dtype`` (None: any)."""
    base = dtype.upper().split("(", 1)[0].strip()
    if dtype.endswith("[]"):
        return "('ARRAY')"
    if base in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT"):
        return _INTEGER_KINDS
    if base in ("UINTEGER", "UBIGINT", "INT", "INT4", "INT8", "LONG", "SHORT"):
        return _INTEGER_KINDS
    if base in ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC"):
        return _NUMBER_KINDS
    if base == "BOOLEAN":
        return "('BOOLEAN')"
    if base in ("STRUCT", "MAP"):
        return "('OBJECT')"
    if base.startswith(("DATE", "TIME", "BLOB", "UUID", "INTERVAL")):
        return "('VARCHAR')"
    return None
