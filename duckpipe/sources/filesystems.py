"""Where file sources live: local paths and ``s3://`` URIs, listed by glob.

Object storage goes through ``pyarrow.fs.S3FileSystem``; the endpoint and credentials
come from the project's ``storage_options`` (the same keys Delta uses:
``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_ACCESS_KEY_ID``...) and then from the usual
AWS environment variables.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from duckpipe.core.errors import SourceError

if TYPE_CHECKING:
    from pyarrow import fs as pafs

_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class FileRef:
    """One file: ``path`` inside ``filesystem``, ``key`` as it is remembered in the position."""

    path: str
    key: str
    size: int | None = None
    mtime_ns: int | None = None

    @property
    def fingerprint(self) -> dict[str, int | None]:
        """What tells a rewrite under the same name apart: size and modification time."""
        return {"size": self.size, "mtime_ns": self.mtime_ns}


def _option(options: dict[str, str], *names: str) -> str | None:
    lowered = {k.lower(): v for k, v in options.items()}
    for name in names:
        if lowered.get(name):
            return lowered[name]
        if os.environ.get(name.upper()):
            return os.environ[name.upper()]
    return None


def s3_filesystem(storage_options: dict[str, str] | None) -> pafs.S3FileSystem:
    """An S3 filesystem configured from Delta-style storage options or the environment."""
    from pyarrow import fs

    options = dict(storage_options or {})
    kwargs: dict[str, str] = {}
    endpoint = _option(options, "aws_endpoint_url", "aws_endpoint", "endpoint_url", "endpoint")
    if endpoint:
        scheme, _, host = endpoint.rpartition("://")
        kwargs["endpoint_override"] = host.rstrip("/")
        kwargs["scheme"] = scheme or "https"
    region = _option(options, "aws_region", "region", "aws_default_region")
    if region:
        kwargs["region"] = region
    key = _option(options, "aws_access_key_id", "access_key_id")
    secret = _option(options, "aws_secret_access_key", "secret_access_key")
    if key and secret:
        kwargs["access_key"], kwargs["secret_key"] = key, secret
        token = _option(options, "aws_session_token", "session_token")
        if token:
            kwargs["session_token"] = token
    return fs.S3FileSystem(**kwargs)  # type: ignore[arg-type]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a path glob: ``*`` and ``?`` stay within a folder, ``**/`` spans folders."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


class FileLocation:
    """A glob (or a file, or a folder) on the local disk or in an S3 bucket."""

    def __init__(
        self, uri: str, project_root: Path, storage_options: dict[str, str] | None = None
    ) -> None:
        from pyarrow import fs

        self.uri = uri
        self.remote = uri.startswith("s3://")
        if self.remote:
            self.filesystem: pafs.FileSystem = s3_filesystem(storage_options)
            self.pattern = uri[len("s3://") :]
        else:
            self.filesystem = fs.LocalFileSystem()
            path = Path(uri)
            self.pattern = str(path if path.is_absolute() else project_root / path)
        self.root = project_root

    def _key(self, path: str) -> str:
        if self.remote:
            return f"s3://{path}"
        try:
            return str(Path(path).relative_to(self.root))
        except ValueError:
            return path

    def list(self) -> list[FileRef]:
        """Every file the location names, sorted by path."""
        from pyarrow import fs

        pattern = self.pattern.rstrip("/")
        match = _GLOB_CHARS.search(pattern)
        base = pattern if match is None else pattern[: match.start()].rpartition("/")[0]
        try:
            info = self.filesystem.get_file_info(base)
            if match is None and info.type == fs.FileType.File:
                return [FileRef(info.path, self._key(info.path), info.size, info.mtime_ns)]
            if info.type != fs.FileType.Directory:
                return []
            selector = fs.FileSelector(base, recursive=True)
            infos = self.filesystem.get_file_info(selector)
        except OSError as exc:
            raise SourceError(
                f"cannot list {self.uri}: {exc}",
                where=self.uri,
                hint="check the path, the bucket and the storage_options credentials",
            ) from exc
        wanted = glob_regex(pattern) if match is not None else None
        files = [
            FileRef(i.path, self._key(i.path), i.size, i.mtime_ns)
            for i in infos
            if i.type == fs.FileType.File
            and not Path(i.path).name.startswith((".", "_"))
            and (wanted is None or wanted.match(i.path))
        ]
        return sorted(files, key=lambda f: f.path)
