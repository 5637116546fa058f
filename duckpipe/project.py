"""Discover a project on disk: config, models, seeds, checks. Pure: reads files, changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from duckpipe.config import ProjectConfig, load_config
from duckpipe.errors import ProjectError

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


def load_project(root: str | Path = ".") -> Project:
    """Read ``duckpipe.yml`` and discover models, seeds and checks under ``root``."""
    root = Path(root).resolve()
    config = load_config(root)
    return Project(
        root=root,
        config=config,
        models=_discover_models(root),
        seeds={p.stem: p.relative_to(root) for p in sorted((root / "seeds").glob("*.csv"))},
        checks=[p.relative_to(root) for p in sorted((root / "checks").glob("*.y*ml"))],
    )


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
