"""Read ``checks/*.yml``: which dataset each SodaCL block is for, and where every check is written.

soda-core parses and runs the checks; this module only knows the layout of a file
(its section headers and the lines of its checks), so that duckpipe can run one
dataset's checks at a time and point every error at the user's line.

>>> suite = parse_checks("checks for orders:\\n  - row_count > 0\\n", "checks/shop.yml")
>>> suite.blocks[0].dataset, suite.blocks[0].checks[0].line
('orders', 2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from duckpipe.core.errors import QualityError, did_you_mean

# "checks for orders", "checks for orders [daily]", "filter orders [daily]", "configurations for orders"
_HEADER = re.compile(
    r"^(?P<kind>checks for|filter|configurations for)\s+(?P<dataset>[^\s\[]+)\s*(?:\[(?P<part>[^\]]*)\])?\s*$"
)
_KNOWN_HEADERS = ("checks for", "filter", "configurations for")
# SodaCL sections that are not about one dataset: soda-core supports them, duckpipe does not
_UNSUPPORTED: tuple[str, ...] = ("for each dataset", "for each column", "automated monitoring")
_UNSUPPORTED += ("profile columns", "discover datasets", "sample datasets", "variables")


@dataclass(frozen=True)
class CheckEntry:
    """One check as written: ``row_count > 0`` on line 2."""

    text: str
    line: int


@dataclass(frozen=True)
class Block:
    """One top-level section of a checks file, about one dataset."""

    kind: str  # "checks for" | "filter" | "configurations for"
    dataset: str
    line: int  # the header's line (1-based)
    end: int  # the block's last line (inclusive)
    checks: tuple[CheckEntry, ...] = ()


@dataclass(frozen=True)
class ChecksFile:
    """A parsed ``checks/*.yml``; ``path`` is how users see it (``checks/shop.yml``)."""

    path: str
    text: str
    blocks: tuple[Block, ...]

    def datasets(self) -> list[str]:
        return sorted({b.dataset for b in self.blocks if b.kind == "checks for"})

    def sodacl_for(self, dataset: str) -> str:
        """The file's text with only ``dataset``'s sections kept; other lines are blanked
        so that line numbers soda-core reports are the file's own."""
        lines = self.text.splitlines()
        keep = [False] * len(lines)
        for block in self.blocks:
            if block.dataset == dataset:
                for i in range(block.line - 1, min(block.end, len(lines))):
                    keep[i] = True
        return "\n".join(line if k else "" for line, k in zip(lines, keep, strict=True)) + "\n"

    def where(self, line: int | None) -> str:
        return f"{self.path}:{line}" if line else self.path


@dataclass(frozen=True)
class ChecksSuite:
    """Every checks file of a project (or one SodaCL file given to the API)."""

    files: tuple[ChecksFile, ...] = ()

    @property
    def blocks(self) -> list[Block]:
        return [b for f in self.files for b in f.blocks]

    def datasets(self) -> list[str]:
        return sorted({d for f in self.files for d in f.datasets()})

    def files_for(self, dataset: str) -> list[ChecksFile]:
        return [f for f in self.files if dataset in f.datasets()]

    def check_validity(self, known: set[str], *, hint: str | None = None) -> None:
        """Every ``checks for X`` must name a dataset of the project (a source, model, seed or lake table)."""
        for file in self.files:
            for block in file.blocks:
                if block.dataset not in known:
                    raise QualityError(
                        f"checks for unknown dataset '{block.dataset}'",
                        where=file.where(block.line),
                        hint=did_you_mean(block.dataset, known)
                        or hint
                        or f"known datasets: {', '.join(sorted(known)) or 'none'}",
                    )


def load_checks(root: Path, paths: list[Path]) -> ChecksSuite:
    """Parse the project's checks files (``paths`` relative to ``root``)."""
    return ChecksSuite(tuple(parse_checks((root / p).read_text(), str(p)) for p in paths))


def parse_checks(text: str, path: str) -> ChecksFile:
    """Find the dataset sections of one SodaCL file; errors name ``path`` and the line."""
    import yaml

    from duckpipe.core.yaml import construct_unique

    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        raise QualityError(
            f"SodaCL syntax error: {getattr(exc, 'problem', None) or exc}",
            where=where,
            hint="checks files are YAML: `checks for <dataset>:` followed by a list of checks",
        ) from None
    if root is None:
        return ChecksFile(path, text, ())
    construct_unique(root, file=path, error=QualityError)
    if not isinstance(root, yaml.MappingNode):
        raise QualityError(
            "a checks file must be a mapping of sections",
            where=f"{path}:{root.start_mark.line + 1}",
            hint="start a section with `checks for <dataset>:`",
        )
    total = len(text.splitlines())
    starts = [k.start_mark.line + 1 for k, _ in root.value] + [total + 1]
    blocks = [
        _block(key, value, path, end=starts[i + 1] - 1) for i, (key, value) in enumerate(root.value)
    ]
    return ChecksFile(path, text, tuple(blocks))


def _block(key: object, value: object, path: str, *, end: int) -> Block:
    import yaml

    assert isinstance(key, yaml.Node) and isinstance(value, yaml.Node)
    header = str(key.value).strip()
    line = key.start_mark.line + 1
    match = _HEADER.match(header)
    if match is None:
        raise _header_error(header, f"{path}:{line}")
    kind, dataset = match.group("kind"), match.group("dataset").strip("\"'`")
    if kind != "checks for":
        return Block(kind, dataset, line, end)
    if not isinstance(value, yaml.SequenceNode):
        raise QualityError(
            f"'{header}' must be followed by a list of checks",
            where=f"{path}:{value.start_mark.line + 1}",
            hint="write each check on its own line starting with '- ', e.g. '  - row_count > 0'",
        )
    checks = []
    for item in value.value:
        item_line = item.start_mark.line + 1
        if isinstance(item, yaml.ScalarNode):
            checks.append(CheckEntry(str(item.value), item_line))
        elif isinstance(item, yaml.MappingNode) and item.value:
            checks.append(CheckEntry(str(item.value[0][0].value), item_line))
        else:
            raise QualityError(
                "a check must be a line like 'row_count > 0' or a check with a configuration block",
                where=f"{path}:{item_line}",
            )
    return Block(kind, dataset, line, end, tuple(checks))


def _header_error(header: str, where: str) -> QualityError:
    if header.startswith(_UNSUPPORTED):
        return QualityError(
            f"the SodaCL section '{header}' is not supported by duckpipe",
            where=where,
            hint="write the checks per dataset under `checks for <dataset>:`",
        )
    first = " ".join(header.split()[:2])
    hint = did_you_mean(first, _KNOWN_HEADERS) or "start a section with `checks for <dataset>:`"
    return QualityError(f"invalid section header '{header}'", where=where, hint=hint)
