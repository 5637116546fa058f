"""What ``source('src', 'table')`` and plain table names resolve to.

A source table is, in order: a table declared dbt-style in ``models/**/*.yml``
(``sources: [{name: shop, tables: [{name: orders, identifier: raw_orders}]}]``), a
duckpipe.yml source of that name (its landed table, ``raw_<name>`` by default), or the
table a stream writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from duckpipe.core.errors import ConfigError, ProjectError, did_you_mean
from duckpipe.project import landed_table

if TYPE_CHECKING:
    from pathlib import Path

    from duckpipe.project import Project


@dataclass
class SourceCatalog:
    """``declared``: (source, table) -> identifier; ``landed``: lower table name -> source step."""

    declared: dict[tuple[str, str], str] = field(default_factory=dict)
    landed: dict[str, str] = field(default_factory=dict)
    configured: dict[str, str] = field(default_factory=dict)
    streams: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, project: Project) -> SourceCatalog:
        catalog = cls(declared=_declared(project.root))
        for name, cfg in project.config.sources.items():
            table = landed_table(name, cfg)
            catalog.configured[name] = table
            if cfg.resolved_type() != "kafka":
                catalog.landed[table.lower()] = name
        catalog.streams = {s.table for s in project.config.streams.values()}
        return catalog

    def resolve(self, source: str, table: str, where: str) -> str:
        """The table name ``source(source, table)`` reads."""
        if (source, table) in self.declared:
            return self.declared[(source, table)]
        if table in self.configured:
            return self.configured[table]
        if source in self.configured and self.configured[source] == table:
            return table
        if table in self.streams:
            return table
        known = [f"{s}.{t}" for s, t in self.declared] + list(self.configured)
        raise ProjectError(
            f"source('{source}', '{table}') is not declared",
            where=where,
            hint=did_you_mean(f"{source}.{table}", known)
            or did_you_mean(table, self.configured)
            or "declare it under sources: in duckpipe.yml or in a models/*.yml file",
        )


def _declared(root: Path) -> dict[tuple[str, str], str]:
    """dbt-style ``sources:`` blocks in ``models/**/*.yml``."""
    from duckpipe.core.yaml import load_yaml

    declared: dict[tuple[str, str], str] = {}
    for path in sorted([*(root / "models").rglob("*.yml"), *(root / "models").rglob("*.yaml")]):
        rel = path.relative_to(root)
        data = load_yaml(path.read_text(), file=str(rel), error=ConfigError) or {}
        sources = data.get("sources") if isinstance(data, dict) else None
        for source in sources or []:
            for table in source.get("tables") or []:
                name = str(table["name"] if isinstance(table, dict) else table)
                ident = table.get("identifier") if isinstance(table, dict) else None
                declared[(source["name"], name)] = str(ident or name)
    return declared
