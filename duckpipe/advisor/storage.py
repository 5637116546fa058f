"""Where a lake lives: a local folder or ``s3://bucket/prefix``, and how to list it.

One set of storage options (the ``AWS_*`` keys deltalake and object_store use)
is translated here into each library's own spelling, so the Delta log, the
Iceberg metadata and plain listings all reach the same store the same way.
Settings come from the environment, then the project's ``storage_options``,
then ``--storage-option KEY=VALUE`` (later wins).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from duckpipe.errors import ConfigError, SinkError

if TYPE_CHECKING:
    import pyarrow.fs as pafs

_ENV_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ALLOW_HTTP",
)


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
    storage_options: dict[str, str] = field(default_factory=dict)

    @property
    def is_remote(self) -> bool:
        return self.uri.startswith("s3://")

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    def child(self, relative: str) -> LakeLocation:
        relative = relative.strip("/")
        return (
            self if not relative else LakeLocation(f"{self.uri}/{relative}", self.storage_options)
        )

    def relative_to(self, root: LakeLocation) -> str:
        return self.uri[len(root.uri) :].strip("/")

    @property
    def fs_path(self) -> str:
        """The path as pyarrow's file system spells it (no scheme)."""
        return self.uri[len("s3://") :] if self.is_remote else self.uri

    def filesystem(self) -> pafs.FileSystem:
        return _filesystem(self.is_remote, tuple(sorted(self.storage_options.items())))

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
            ObjectInfo(i.path[start:], i.size or 0, i.mtime.timestamp() if i.mtime else 0.0)
            for i in infos
            if i.type == pafs.FileType.File
        ]

    def subfolders(self, relative: str = "") -> list[str]:
        import pyarrow.fs as pafs

        base = self.child(relative).fs_path
        selector = pafs.FileSelector(base, recursive=False, allow_not_found=True)
        infos = self.filesystem().get_file_info(selector)
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory)

    def exists(self, relative: str = "") -> bool:
        import pyarrow.fs as pafs

        info = self.filesystem().get_file_info(self.child(relative).fs_path)
        return bool(info.type != pafs.FileType.NotFound)

    def read_bytes(self, relative: str) -> bytes:
        with self.filesystem().open_input_stream(self.child(relative).fs_path) as stream:
            data: bytes = stream.read()
            return data

    def iceberg_properties(self) -> dict[str, str]:
        """FileIO properties for pyiceberg."""
        opts = self.storage_options
        mapping = {
            "AWS_ENDPOINT_URL": "s3.endpoint",
            "AWS_REGION": "s3.region",
            "AWS_ACCESS_KEY_ID": "s3.access-key-id",
            "AWS_SECRET_ACCESS_KEY": "s3.secret-access-key",
            "AWS_SESSION_TOKEN": "s3.session-token",
        }
        props = {target: opts[key] for key, target in mapping.items() if key in opts}
        if "AWS_ENDPOINT_URL" in opts:
            props["s3.force-virtual-addressing"] = "false"
        return props


def open_location(
    uri: str, storage_options: dict[str, str] | None = None, *, base_dir: str | None = None
) -> LakeLocation:
    """A ``LakeLocation`` for a local path (relative to ``base_dir``) or an ``s3://`` URI."""
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
        return LakeLocation(uri.rstrip("/"), _merged_options(storage_options))
    path = os.path.abspath(os.path.join(base_dir or os.getcwd(), os.path.expanduser(uri)))
    if not os.path.exists(path):
        raise ConfigError(
            f"no such folder: {path}", where=uri, hint="pass the lake root or a table folder"
        )
    return LakeLocation(path.rstrip("/") or "/", dict(storage_options or {}))


def _merged_options(options: dict[str, str] | None) -> dict[str, str]:
    merged = {k: os.environ[k] for k in _ENV_KEYS if os.environ.get(k)}
    if "AWS_REGION" not in merged and "AWS_DEFAULT_REGION" in merged:
        merged["AWS_REGION"] = merged["AWS_DEFAULT_REGION"]
    merged.pop("AWS_DEFAULT_REGION", None)
    for key, value in (options or {}).items():
        merged[key.upper()] = str(value)
    endpoint = merged.get("AWS_ENDPOINT_URL", "")
    if endpoint.startswith("http://"):
        merged.setdefault("AWS_ALLOW_HTTP", "true")
    return merged


_FILESYSTEMS: dict[tuple[bool, tuple[tuple[str, str], ...]], Any] = {}


def _filesystem(remote: bool, options: tuple[tuple[str, str], ...]) -> pafs.FileSystem:
    key = (remote, options)
    if key not in _FILESYSTEMS:
        import pyarrow.fs as pafs

        if not remote:
            _FILESYSTEMS[key] = pafs.LocalFileSystem()
        else:
            opts = dict(options)
            endpoint = opts.get("AWS_ENDPOINT_URL")
            kwargs: dict[str, Any] = {
                "access_key": opts.get("AWS_ACCESS_KEY_ID"),
                "secret_key": opts.get("AWS_SECRET_ACCESS_KEY"),
                "session_token": opts.get("AWS_SESSION_TOKEN"),
                "region": opts.get("AWS_REGION"),
            }
            if endpoint:
                scheme, _, host = endpoint.partition("://")
                kwargs["endpoint_override"] = host or scheme
                kwargs["scheme"] = scheme if host else "https"
            _FILESYSTEMS[key] = pafs.S3FileSystem(
                **{k: v for k, v in kwargs.items() if v is not None}
            )
    return _FILESYSTEMS[key]
