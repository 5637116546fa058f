"""Running one model's SQL in DuckDB: compiled SQL in, Arrow or a relation out, errors mapped.

``ModelBuild`` gathers what every materialization needs: the compiled SQL, the lake the
model is written to, its staging name for write-audit-publish, and an ``execute`` that
turns DuckDB errors into errors naming the model file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import ModelError, ProjectError, did_you_mean
from duckpipe.core.sql import quote
from duckpipe.transform.compile import Compiled, compile_model, write_compiled
from duckpipe.transform.diagnostics import duckdb_error, snippet
from duckpipe.transform.graph import STAGED_PREFIX
from duckpipe.transform.seeds import register_seed

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.engine import Engine
    from duckpipe.project import Project
    from duckpipe.quality import AuditResult
    from duckpipe.runner import RunContext
    from duckpipe.sinks.base import Sink
    from duckpipe.transform.graph import ModelNode, ProjectGraph


@dataclass
class ModelBuild:
    """One model about to be materialized."""

    ctx: RunContext
    graph: ProjectGraph
    node: ModelNode
    compiled: Compiled
    lake: Sink

    @classmethod
    def prepare(cls, ctx: RunContext, graph: ProjectGraph, node: ModelNode) -> ModelBuild:
        """Compile (is_incremental() true when the lake table exists), write target/compiled."""
        lake = lake_for(ctx, node.config.format)
        incremental = (
            node.materialized == "incremental"
            and not ctx.options.full_refresh
            and lake.exists(node.name)
        )
        present = {n.lower() for n in ctx.engine.names()}
        if incremental and node.name.lower() not in present:
            ctx.engine.register(node.name, lake.dataset(node.name))
        compiled = compile_model(graph, node.name, incremental=incremental)
        write_compiled(ctx.project.root, compiled)
        ensure_upstream(ctx.engine, graph, node.name, present, ctx.other_lakes)
        check_externals(ctx.engine, graph, node, present)
        return cls(ctx, graph, node, compiled, lake)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def staged(self) -> str:
        return STAGED_PREFIX + self.node.name

    def execute(self, prefix: str = "", suffix: str = "") -> None:
        """Run ``prefix + compiled SQL + suffix`` for its effect."""
        self._run(prefix, suffix, fetch=False)

    def arrow(self) -> pa.Table:
        """The model's result as an Arrow table."""
        table: pa.Table = self._run("", "", fetch=True)
        return table

    def _run(self, prefix: str, suffix: str, *, fetch: bool) -> Any:
        import duckdb

        statement = prefix + self.compiled.sql + suffix
        con = self.ctx.engine.con
        try:
            if fetch:
                return con.sql(statement).to_arrow_table()
            con.execute(statement)
            return None
        except duckdb.Error as exc:
            raise duckdb_error(
                exc,
                self.compiled.sql,
                self.compiled.source_map,
                self.graph.files(),
                line_offset=prefix.count("\n"),
                names=[*self.ctx.engine.names(), *self.graph.models, *self.graph.seeds],
            ) from exc

    def audit(self, relation: str) -> AuditResult:
        from duckpipe.quality import audit

        return audit(self.ctx, dataset=self.node.name, staged_relation=relation)

    def hooks(self, kind: str) -> None:
        """Run the model's ``pre_hook`` / ``post_hook`` statements (Jinja rendered)."""
        import duckdb

        for i, hook in enumerate(getattr(self.node.config, kind)):
            path = f"{self.node.path}#{kind}[{i}]"
            sql = self.graph.renderer.render(
                path,
                hook,
                model=self.node.name,
                incremental=self.compiled.incremental,
                vars=self.ctx.project.config.vars,
                ref=lambda target, line: _relation(target),
                source_table=lambda s, t, line: _relation(t),
            ).sql
            try:
                self.ctx.engine.con.execute(sql)
            except duckdb.Error as exc:
                where = self.node.config.where.get(kind, self.node.path)
                raise ModelError(f"{kind} failed: {str(exc).splitlines()[0]}", where=where) from exc


def _relation(name: str) -> Any:
    from duckpipe.transform.context import Relation

    return Relation(name)


def lake_for(ctx: RunContext, fmt: str | None) -> Sink:
    """The project's lake, or a lake of another table format under the same root."""
    if not fmt or fmt == ctx.project.config.format:
        return ctx.lake
    return _lake_of(ctx.other_lakes, ctx.project, fmt)


def _lake_of(lakes: dict[str, Sink], project: Project, fmt: str) -> Sink:
    """``lakes[fmt]``, opened (and kept there) at the first use."""
    lake = lakes.get(fmt)
    if lake is None:
        lake = lakes[fmt] = other_lake(project, fmt)
    return lake


def other_lake(project: Project, fmt: str) -> Sink:
    """A lake in table format ``fmt`` at the project's lake root (a model's ``format``)."""
    from duckpipe.sinks import open_sink

    config = project.config
    return open_sink(
        project.lake_uri,
        format=fmt,
        storage_options=config.storage_options,
        catalog=config.catalog,
        state_dir=project.state_dir,
    )


def attach_other_formats(
    engine: Engine,
    graph: ProjectGraph,
    names: list[str],
    lakes: dict[str, Sink] | None = None,
) -> None:
    """Register the lake tables of models written in another format than the project's.

    ``lakes``: the run's lakes by format, opened there at their first use.
    """
    lakes = {} if lakes is None else lakes
    for name in names:
        fmt = graph.models[name].config.format
        if not fmt or fmt == graph.project.config.format:
            continue
        lake = _lake_of(lakes, graph.project, fmt)
        if lake.exists(name):
            engine.register(name, lake.dataset(name))


def ensure_upstream(
    engine: Engine,
    graph: ProjectGraph,
    name: str,
    present: set[str] | None = None,
    lakes: dict[str, Sink] | None = None,
) -> None:
    """Define the views and load the seeds ``name`` reads that this process has not built.

    Tables and incremental models must already be in the lake (a selection that leaves
    them out reads their last published version). ``present``: the engine's names, lower case.
    """
    if present is None:
        present = {n.lower() for n in engine.names()}
    for parent in sorted(graph.parents(name)):
        if parent.lower() in present:
            continue
        if parent in graph.seeds:
            register_seed(engine, graph.project, parent)
            present.add(parent.lower())
            continue
        node = graph.models.get(parent)
        if node is None:
            continue
        if node.materialized == "ephemeral":
            ensure_upstream(engine, graph, parent, present, lakes)
        elif node.materialized == "view":
            ensure_upstream(engine, graph, parent, present, lakes)
            define_view(engine, graph, parent)
            present.add(parent.lower())
        else:
            attach_other_formats(engine, graph, [parent], lakes)
            if parent in engine.registered():
                present.add(parent.lower())
                continue
            child = graph.models[name]
            raise ModelError(
                f"'{name}' reads {node.materialized} model '{parent}', which is not in the lake yet",
                where=f"{child.path}:{child.depends_on[parent]}",
                hint=f"build it first: duckpipe run -s +{name}",
            )


def define_view(engine: Engine, graph: ProjectGraph, name: str) -> None:
    """Create (or replace) the DuckDB view of a view model, without publishing steps."""
    import duckdb

    compiled = compile_model(graph, name)
    engine.unregister(name)  # a lake table left from when the model was a table
    try:
        engine.con.execute(f"create or replace view {quote(name)} as\n{compiled.sql}")
    except duckdb.Error as exc:
        raise duckdb_error(
            exc,
            compiled.sql,
            compiled.source_map,
            graph.files(),
            line_offset=1,
            names=engine.names(),
        ) from exc


def check_externals(
    engine: Engine, graph: ProjectGraph, node: ModelNode, present: set[str]
) -> None:
    """Plain table names that are not models, seeds or sources must be lake tables."""
    for table, line in node.externals.items():
        if table.lower() in present:
            continue
        known = [*engine.names(), *graph.models, *graph.seeds]
        known = [n for n in known if not n.startswith("__duckpipe")]
        streams = graph.project.config.streams
        writer = next((n for n, s in streams.items() if s.table.lower() == table.lower()), None)
        raise ProjectError(
            f"'{table}' names no model, seed, source or lake table\n{snippet(node.sql, line)}",
            where=f"{node.path}:{line}",
            hint=(f"stream '{writer}' writes it: run `duckpipe stream {writer} --once` first")
            if writer
            else did_you_mean(table, known) or "`duckpipe query 'show tables'` lists what exists",
        )
