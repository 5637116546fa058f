"""Discover a project on disk: config, models, seeds, checks. Pure: reads files, changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from duckpipe.config import CONFIG_FILE, ProjectConfig, load_config
from duckpipe.core.errors import ProjectError

if TYPE_CHECKING:
    from duckpipe.config import SourceConfig
    from duckpipe.sinks.base import Sink

STATE_DIR = ".duckpipe"


@dataclass(frozen=True)
class ModelFile:
    """One ``models/**/*.sql`` file; its name is the file name without ``.sql``."""

    name: str
    path: Path  # relative to the project root
    sql: str


@dataclass(frozen=True)
class Project:
    """Everything a plan is made from."""

    root: Path
    config: ProjectConfig
    models: dict[str, ModelFile] = field(default_factory=dict)
    seeds: dict[str, Path] = field(default_factory=dict)
    checks: list[Path] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def lake_uri(self) -> str:
        """The lake root as a URI or an absolute path (relative paths are under the project)."""
        lake = self.config.lake
        if "://" in lake:
            return lake.rstrip("/")
        return str((self.root / lake).resolve())

    def open_lake(self) -> Sink:
        """The project's lake sink (Delta or Iceberg) at its lake URI."""
        from duckpipe.sinks import open_sink  # the lake libraries load when a lake is opened

        return open_sink(
            self.lake_uri,
            format=self.config.format,
            storage_options=self.config.storage_options,
            catalog=self.config.catalog,
            state_dir=self.state_dir,
        )


def landed_table(name: str, config: SourceConfig) -> str:
    """The lake table a source lands in: ``land_as`` or ``raw_<name>``."""
    return config.land_as or f"raw_{name}"


def load_project(root: str | Path = ".") -> Project:
    """Read ``duckpipe.yml`` and discover models, seeds and checks under ``root``."""
    root = Path(root).resolve()
    config = load_config(root)
    models = _discover_models(root)
    seeds = {p.stem: p.relative_to(root) for p in sorted((root / "seeds").glob("*.csv"))}
    _check_table_names(config, models, seeds)
    return Project(
        root=root,
        config=config,
        models=models,
        seeds=seeds,
        checks=[p.relative_to(root) for p in sorted((root / "checks").glob("*.y*ml"))],
    )


def _check_table_names(
    config: ProjectConfig, models: dict[str, ModelFile], seeds: dict[str, Path]
) -> None:
    """Landed sources, stream tables, seeds and models share one namespace (case-insensitive).

    A clash would otherwise fail mid-run (a seed over a landed table) or silently shadow a
    table (a model named like a landed source), so it fails here, before any plan.
    """
    owners: dict[str, tuple[str, str, str]] = {}  # lower table name -> (kind, description, fix)

    def claim(kind: str, table: str, what: str, fix: str, where: str) -> None:
        key = table.lower()
        if key in owners and not (kind == "stream" == owners[key][0]):  # streams may share
            _, first, first_fix = owners[key]
            raise ProjectError(
                f"two definitions make table '{table}': {first} and {what}",
                where=where,
                hint=f"{first_fix}, or {fix}",
            )
        owners.setdefault(key, (kind, what, fix))

    for name, cfg in config.sources.items():
        if cfg.resolved_type() == "kafka":
            continue  # its rows land through streams, whose tables are claimed below
        table = landed_table(name, cfg)
        claim(
            "source",
            table,
            f"source '{name}' in {CONFIG_FILE} (lands as '{table}')",
            f"set a different land_as: on source '{name}' in {CONFIG_FILE}",
            f"{CONFIG_FILE} sources.{name}",
        )
    for name, stream in config.streams.items():
        claim(
            "stream",
            stream.table,
            f"stream '{name}' in {CONFIG_FILE} (writes '{stream.table}')",
            f"set a different table: on stream '{name}' in {CONFIG_FILE}",
            f"{CONFIG_FILE} streams.{name}",
        )
    for name, path in seeds.items():
        claim("seed", name, f"seed {path}", f"rename {path}", str(path))
    for name, model in models.items():
        claim("model", name, f"model {model.path}", f"rename {model.path}", str(model.path))


def _discover_models(root: Path) -> dict[str, ModelFile]:
    models: dict[str, ModelFile] = {}
    for path in sorted((root / "models").rglob("*.sql")):
        rel = path.relative_to(root)
        name = path.stem
        if name in models:
            raise ProjectError(
                f"two models are named '{name}': {models[name].path} and {rel}",
                where=str(rel),
                hint="model names come from file names and must be unique; rename one file",
            )
        models[name] = ModelFile(name=name, path=rel, sql=path.read_text())
    return models
