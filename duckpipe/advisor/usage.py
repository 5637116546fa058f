"""How a project uses its lake: which tables its SQL models read, filter and join on.

Models are rendered with a minimal Jinja context (``ref``, ``source``,
``config``, ``var``, ``is_incremental``, ``this``) and parsed with sqlglot. For
each SELECT, a column in WHERE is a filter column and a column in JOIN ... ON or
USING is a join column of the table it belongs to (by qualifier, or the only
table of that SELECT; otherwise kept as ambiguous and matched to table schemas
later). The local run history says how often each model ran in the last 30 days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from duckpipe.advisor.discover import table_name_variants

if TYPE_CHECKING:
    from sqlglot import exp

    from duckpipe.advisor.facts import TableFacts
    from duckpipe.project import Project

MONTH_SECONDS = 30 * 86_400.0


@dataclass(frozen=True)
class TableScan:
    """One model reading one table."""

    model: str
    model_path: str
    table: str  # as written in the SQL: name or schema.name
    filter_columns: frozenset[str] = frozenset()
    join_columns: frozenset[str] = frozenset()
    unqualified_filters: frozenset[str] = frozenset()  # may belong to this table or another

    def filters_for(self, facts: TableFacts) -> frozenset[str]:
        """Filter columns, counting ambiguous ones the table actually has."""
        return self.filter_columns | (self.unqualified_filters & set(facts.columns))


@dataclass(frozen=True)
class ProjectUsage:
    """What the rules know about the project around the lake."""

    name: str
    kind: str  # batch | streaming | adhoc
    streams: tuple[str, ...] = ()
    scans: tuple[TableScan, ...] = ()
    runs_per_month: dict[str, int] = field(default_factory=dict)  # model -> runs
    run_hours_per_month: float | None = None  # None without history
    project_runs_per_month: int = 0
    unparsed: tuple[str, ...] = ()  # models sqlglot could not parse: "path: reason"
    short_history: str | None = None  # why a history too short to extrapolate was not used

    def scans_of(self, facts: TableFacts) -> list[TableScan]:
        names = table_name_variants(facts.name)
        return [s for s in self.scans if s.table in names or s.table.split(".")[-1] in names]

    def model_runs(self, model: str, default: int) -> int:
        """Runs of ``model`` in the last 30 days, or ``default`` without a history."""
        if self.run_hours_per_month is None:
            return default
        return self.runs_per_month.get(model, 0)


def project_usage(
    project: Project, *, now: float | None = None, min_history_days: float = 0.0
) -> ProjectUsage:
    """Read the project's models and run history.

    A history covering less than ``min_history_days`` (first recorded run to
    ``now``) is not extrapolated to a month: it is reported as too short and
    the usage counts stay unknown.
    """
    scans: list[TableScan] = []
    unparsed: list[str] = []
    for model in project.models.values():
        try:
            variants = [
                model_scans(model.name, str(model.path), sql)
                for sql in rendered_variants(project, model.name, model.sql)
            ]
        except Exception as exc:  # sqlglot raises several error types
            unparsed.append(f"{model.path}: {str(exc).splitlines()[0]}")
            continue
        scans += merge_scans(variants)
    clock = now or datetime.now(UTC).timestamp()
    runs, hours, total, first = _history(project, clock)
    short = None
    if first is not None and clock - first < min_history_days * 86_400:
        short = (
            f"the run history covers {_span(clock - first)} ({total} runs); usage and compute "
            f"advice need at least {min_history_days:g} days of it (thresholds.min_history_days)"
        )
        runs, hours, total = {}, None, 0
    return ProjectUsage(
        name=project.config.name,
        kind=project.config.kind,
        streams=tuple(project.config.streams),
        scans=tuple(scans),
        runs_per_month=runs,
        run_hours_per_month=hours,
        project_runs_per_month=total,
        unparsed=tuple(unparsed),
        short_history=short,
    )


def _span(seconds: float) -> str:
    """A duration for people: ``40 seconds``, ``3.0 minutes``, ``2.5 hours``, ``1.2 days``."""
    for unit, size in (("days", 86_400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} seconds"


def rendered_variants(project: Project, name: str, sql: str) -> list[str]:
    """A model's SQL as a full build and as an incremental run renders it.

    The project's own compiler is used (refs, sources, macros, vars); where it
    cannot render the model, a minimal Jinja context stands in.
    """
    try:
        from duckpipe.transform.compile import compile_model
        from duckpipe.transform.graph import project_graph

        graph = project_graph(project)
        return [compile_model(graph, name, incremental=inc).sql for inc in (False, True)]
    except Exception:  # any failure of the project's renderer: fall back
        return [render_model(sql, name, incremental=inc) for inc in (False, True)]


def merge_scans(variants: list[list[TableScan]]) -> list[TableScan]:
    """One scan per table, with the columns of every rendering of the model."""
    merged: dict[str, TableScan] = {}
    for scans in variants:
        for scan in scans:
            seen = merged.get(scan.table)
            merged[scan.table] = (
                scan
                if seen is None
                else TableScan(
                    model=scan.model,
                    model_path=scan.model_path,
                    table=scan.table,
                    filter_columns=seen.filter_columns | scan.filter_columns,
                    join_columns=seen.join_columns | scan.join_columns,
                    unqualified_filters=seen.unqualified_filters | scan.unqualified_filters,
                )
            )
    return list(merged.values())


def render_model(sql: str, model: str, *, incremental: bool = False) -> str:
    """SQL with dbt-style Jinja resolved minimally: ``{{ ref('x') }}`` -> ``x``."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.ChainableUndefined, autoescape=False)
    context: dict[str, Any] = {
        "ref": lambda *names, **_: names[-1],
        "source": lambda *names, **_: names[-1],
        "config": lambda *_, **__: "",
        "var": lambda _name, default="NULL": default,
        "is_incremental": lambda: incremental,
        "this": model,
        "env_var": lambda _name, default="": default,
    }
    try:
        return env.from_string(sql).render(**context)
    except jinja2.TemplateError:
        return re.sub(r"\{[{%#].*?[}%#]\}", "", sql, flags=re.S)


def model_scans(name: str, path: str, sql: str) -> list[TableScan]:
    """The tables one model reads, with the columns it filters and joins them on."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    tree = sqlglot.parse_one(render_model(sql, name), dialect="duckdb")
    found: dict[str, dict[str, set[str]]] = {}
    for scope in traverse_scope(tree):
        select = scope.expression
        tables = {
            alias: source
            for alias, source in scope.sources.items()
            if isinstance(source, exp.Table)
        }
        if not tables:
            continue
        for source in tables.values():
            found.setdefault(_table_name(source), {"filter": set(), "join": set(), "any": set()})
        where = select.args.get("where")
        for column in _own_columns(where, select):
            _attribute(column, tables, found, "filter")
        for join in select.args.get("joins") or []:
            for column in _own_columns(join.args.get("on"), select):
                _attribute(column, tables, found, "join")
            joined = join.this
            if isinstance(joined, exp.Table):  # USING (col): a column of the joined table
                for ident in join.args.get("using") or []:
                    found[_table_name(joined)]["join"].add(ident.name)
    return [
        TableScan(
            model=name,
            model_path=path,
            table=table,
            filter_columns=frozenset(cols["filter"]),
            join_columns=frozenset(cols["join"]),
            unqualified_filters=frozenset(cols["any"]),
        )
        for table, cols in sorted(found.items())
    ]


def _table_name(table: exp.Table) -> str:
    return f"{table.db}.{table.name}" if table.db else table.name


def _own_columns(node: exp.Expr | None, select: exp.Expr) -> list[exp.Column]:
    """Columns of ``node`` that belong to ``select`` itself, not to a subquery in it."""
    from sqlglot import exp

    if node is None:
        return []
    return [c for c in node.find_all(exp.Column) if c.find_ancestor(exp.Select) is select]


def _attribute(
    column: exp.Column,
    tables: dict[str, exp.Table],
    found: dict[str, dict[str, set[str]]],
    kind: str,
) -> None:
    if column.table:
        source = tables.get(column.table)
        if source is not None:
            found[_table_name(source)][kind].add(column.name)
    elif len(tables) == 1:
        found[_table_name(next(iter(tables.values())))][kind].add(column.name)
    elif kind == "filter":
        for source in tables.values():
            found[_table_name(source)]["any"].add(column.name)


def _history(
    project: Project, now: float
) -> tuple[dict[str, int], float | None, int, float | None]:
    """Model runs, run hours and project runs over the last 30 days of the local history,
    and when its first run started."""
    from duckpipe.core.history import RunHistory

    runs = RunHistory(project.state_dir).runs()
    if not runs:
        return {}, None, 0, None
    counts: dict[str, int] = {}
    seconds = 0.0
    total = 0
    first: float | None = None
    for run in runs:
        started, finished = _time(run.get("started_at")), _time(run.get("finished_at"))
        if started is not None:
            first = started if first is None else min(first, started)
        if started is None or now - started > MONTH_SECONDS:
            continue
        total += 1
        if finished is not None:
            seconds += max(0.0, finished - started)
        for step in run.get("steps", []):
            if step.get("kind") == "model" and step.get("status") == "ok":
                counts[step["name"]] = counts.get(step["name"], 0) + 1
    return counts, seconds / 3600.0, total, first


def _time(value: Any) -> float | None:
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()
