"""Column-level lineage across models: where a column comes from, hop by hop (sqlglot).

Each model's rendered SQL is traced with ``sqlglot.lineage``; a column read from another
model is traced again inside that model, down to seeds, landed sources and lake tables.
Schemas of those leaves (for ``select *``) come from DuckDB when the caller has them;
the output columns of models are derived from their SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ProjectError, did_you_mean
from duckpipe.transform.graph import EPHEMERAL_PREFIX

if TYPE_CHECKING:
    from duckpipe.engine import Engine
    from duckpipe.transform.graph import ProjectGraph

Schema = dict[str, dict[str, str]]


@dataclass
class LineageNode:
    """A column of a relation, how it is computed there, and the columns it is computed from."""

    relation: str
    column: str
    kind: str
    expression: str | None = None
    upstream: list[LineageNode] = field(default_factory=list)

    def origins(self) -> list[LineageNode]:
        """The leaf columns (seeds, sources, lake tables) at the end of every path."""
        if not self.upstream:
            return [self]
        seen: dict[tuple[str, str], LineageNode] = {}
        for parent in self.upstream:
            for leaf in parent.origins():
                seen.setdefault((leaf.relation, leaf.column), leaf)
        return list(seen.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "relation": self.relation,
            "column": self.column,
            "kind": self.kind,
            "expression": self.expression,
            "upstream": [u.to_dict() for u in self.upstream],
        }

    def lines(self, indent: str = "") -> list[str]:
        """An indented tree, one line per column."""
        how = f"  = {self.expression}" if self.expression else ""
        out = [f"{indent}{self.relation}.{self.column}  [{self.kind}]{how}"]
        for parent in self.upstream:
            out.extend(parent.lines(indent + "    "))
        return out


class Lineage:
    """Lineage queries over one project graph; ``schema`` holds the leaves' columns."""

    def __init__(self, graph: ProjectGraph, schema: Schema | None = None) -> None:
        self.graph = graph
        self.schema: Schema = {k.lower(): v for k, v in (schema or {}).items()}
        self._sql: dict[str, str] = {}
        self._memo: dict[tuple[str, str], LineageNode] = {}

    def columns(self, model: str) -> list[str]:
        """The output columns of ``model`` (from its SQL and the schemas upstream)."""
        import sqlglot
        from sqlglot.errors import SqlglotError
        from sqlglot.optimizer.qualify import qualify

        self._require(model)
        key = model.lower()
        for parent in sorted(self.graph.parents(model)):
            if parent in self.graph.models and EPHEMERAL_PREFIX + parent.lower() not in self.schema:
                self.columns(parent)
        if key not in self.schema:
            try:
                tree: Any = qualify(
                    sqlglot.parse_one(self.sql(model), dialect="duckdb"),
                    schema=dict(self._sqlglot_schema()),
                    dialect="duckdb",
                    validate_qualify_columns=False,
                )
                names = list(tree.named_selects)
            except SqlglotError:
                names = []
            self.schema[key] = {name: "unknown" for name in names}
        self.schema[EPHEMERAL_PREFIX + key] = self.schema[key]
        return list(self.schema[key])

    def column(self, model: str, column: str) -> LineageNode:
        """The lineage of ``model.column`` back to its leaf tables."""
        from sqlglot import exp
        from sqlglot.errors import SqlglotError
        from sqlglot.lineage import lineage

        self._require(model)
        memo = self._memo.get((model, column.lower()))
        if memo is not None:
            return memo
        columns = self.columns(model)
        if columns and column.lower() not in {c.lower() for c in columns}:
            raise ProjectError(
                f"model '{model}' has no column '{column}'",
                where=self.graph.models[model].path,
                hint=did_you_mean(column, columns) or f"columns: {', '.join(columns)}",
            )
        try:
            traced = lineage(
                column, self.sql(model), schema=self._sqlglot_schema(), dialect="duckdb"
            )
        except SqlglotError as exc:
            raise ProjectError(
                f"cannot trace '{model}.{column}': {exc}", where=self.graph.models[model].path
            ) from None
        node = LineageNode(
            model, column, self.graph.models[model].materialized, _expression(traced.expression)
        )
        seen: set[tuple[str, str]] = set()
        for leaf in traced.walk():
            if not isinstance(leaf.expression, exp.Table):
                continue
            relation = leaf.expression.name
            if relation.lower().startswith(EPHEMERAL_PREFIX):
                relation = relation[len(EPHEMERAL_PREFIX) :]
            parent_column = leaf.name.split(".")[-1]
            if (relation.lower(), parent_column.lower()) in seen:
                continue
            seen.add((relation.lower(), parent_column.lower()))
            node.upstream.append(self._upstream(relation, parent_column))
        node.upstream.sort(key=lambda n: (n.relation, n.column))
        self._memo[(model, column.lower())] = node
        return node

    def model(self, model: str) -> list[LineageNode]:
        """The lineage of every output column of ``model``."""
        return [self.column(model, c) for c in self.columns(model)]

    def sql(self, model: str) -> str:
        if model not in self._sql:
            self._sql[model] = self.graph.render(model).sql.strip().rstrip(";")
        return self._sql[model]

    def _upstream(self, relation: str, column: str) -> LineageNode:
        by_lower = {m.lower(): m for m in self.graph.models}
        if relation.lower() in by_lower:
            return self.column(by_lower[relation.lower()], column)
        if relation in self.graph.seeds:
            kind = "seed"
        elif relation.lower() in self.graph.sources.landed:
            kind = f"source {self.graph.sources.landed[relation.lower()]}"
        else:
            kind = "lake table"
        return LineageNode(relation, column, kind)

    def _require(self, model: str) -> None:
        if model not in self.graph.models:
            raise ProjectError(
                f"no model named '{model}'",
                hint=did_you_mean(model, self.graph.models) or "see `duckpipe run --dry-run`",
            )

    def _sqlglot_schema(self) -> dict[str, Any]:
        return {name: cols for name, cols in self.schema.items() if cols}


def _expression(expression: Any) -> str | None:
    from sqlglot import exp

    if isinstance(expression, exp.Alias):
        inner = expression.this
        if isinstance(inner, exp.Column) and inner.name == expression.alias:
            return None
        return str(inner.sql(dialect="duckdb"))
    return None


def leaf_schemas(engine: Engine, graph: ProjectGraph) -> Schema:
    """Columns of every relation the engine can describe that the models read or build."""
    import duckdb

    names = set(graph.seeds) | set(graph.sources.landed) | set(graph.models)
    for node in graph.models.values():
        names |= set(node.externals)
    schema: Schema = {}
    present = {n.lower() for n in engine.names()}
    for name in sorted(names):
        if name.lower() not in present:
            continue
        try:
            rows = engine.con.execute(f'describe "{name}"').fetchall()
        except duckdb.Error:
            continue
        schema[name.lower()] = {str(r[0]): str(r[1]) for r in rows}
    return schema
