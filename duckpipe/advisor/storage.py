"""Where the scanned lake lives, and listing it.

A local folder or ``s3://bucket/prefix``. Object storage settings are read by
``duckpipe.sinks.storage.StorageConfig`` (any spelling of the keys, falling back
to the usual AWS environment variables), so the advisor reaches a lake exactly
the way the sinks that wrote it do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote

from duckpipe.core.errors import ConfigError, SinkError
from duckpipe.sinks.storage import StorageConfig, filesystem

if TYPE_CHECKING:
    import pyarrow.fs as pafs


@dataclass(frozen=True)
class ObjectInfo:
    """One listed object: ``path`` relative to the listed folder, size and last-modified."""

    path: str
    size: int
    mtime: float  # seconds since the epoch


@dataclass(frozen=True)
class LakeLocation:
    """A folder in a file system, addressable by URI."""

    uri: str  # an absolute local path or s3://bucket/prefix, no trailing slash
    storage: StorageConfig = field(default_factory=StorageConfig)

    @property
    def storage_options(self) -> dict[str, str]:
        """Options for deltalake (object_store keys); empty for local folders."""
        return self.storage.delta_options() if self.is_remote else {}

    @property
    def is_remote(self) -> bool:
        return self.uri.startswith("s3://")

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    def child(self, relative: str) -> LakeLocation:
        relative = relative.strip("/")
        return self if not relative else LakeLocation(f"{self.uri}/{relative}", self.storage)

    @property
    def fs_path(self) -> str:
        """The path as pyarrow's file system spells it (no scheme)."""
        return self.uri[len("s3://") :] if self.is_remote else self.uri

    def filesystem(self) -> pafs.FileSystem:
        key = (self.is_remote, tuple(sorted(self.storage.delta_options().items())))
        if key not in _FILESYSTEMS:
            _FILESYSTEMS[key] = filesystem(self.uri, self.storage)[0]
        return _FILESYSTEMS[key]

    def list_files(self, relative: str = "", *, recursive: bool = True) -> list[ObjectInfo]:
        """Every file under ``relative`` (metadata only: names, sizes, last-modified)."""
        import pyarrow.fs as pafs

        base = self.child(relative).fs_path
        selector = pafs.FileSelector(base, recursive=recursive, allow_not_found=True)
        try:
            infos = self.filesystem().get_file_info(selector)
        except OSError as exc:
            raise SinkError(f"cannot list {self.child(relative).uri}: {exc}") from None
        start = len(base.rstrip("/")) + 1
        return [
            ObjectInfo(i.path[start:], i.size or 0, (i.mtime_ns or 0) / 1e9)
            for i in infos
            if i.is_file
        ]

    def iceberg_properties(self) -> dict[str, str]:
        """FileIO properties for pyiceberg."""
        return self.storage.iceberg_properties() if self.is_remote else {}


_FILESYSTEMS: dict[tuple[bool, tuple[tuple[str, str], ...]], pafs.FileSystem] = {}


def open_location(uri: str, storage_options: dict[str, str] | None = None) -> LakeLocation:
    """A ``LakeLocation`` for a local path or an ``s3://`` URI."""
    uri = uri.strip()
    if uri.startswith("file://"):
        uri = unquote(uri[len("file://") :])
    if "://" in uri and not uri.startswith("s3://"):
        scheme = uri.split("://", 1)[0]
        raise ConfigError(
            f"cost-report cannot read '{scheme}://' locations",
            where=uri,
            hint="pass a local folder or an s3://bucket/prefix URI",
        )
    if uri.startswith("s3://"):
        return LakeLocation(uri.rstrip("/"), StorageConfig.from_options(storage_options))
    path = os.path.abspath(os.path.expanduser(uri))
    if not os.path.exists(path):
        raise ConfigError(
            f"no such folder: {path}", where=uri, hint="pass the lake root or a table folder"
        )
    return LakeLocation(path.rstrip("/") or "/", StorageConfig.from_options(storage_options))
