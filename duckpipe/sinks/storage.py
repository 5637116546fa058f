"""Where a lake lives: a local folder or ``s3://bucket/prefix``, and how each library reaches it.

``storage_options`` from duckpipe.yml may use delta-rs spelling (``AWS_ENDPOINT_URL``),
lower case, or short names (``endpoint``); unset values come from the usual AWS
environment variables. ``StorageConfig`` turns them into what deltalake, pyiceberg and
pyarrow each expect.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow.fs as pafs

_ALIASES = {
    "endpoint": ("aws_endpoint_url", "aws_endpoint", "endpoint_url", "endpoint", "s3.endpoint"),
    "access_key_id": ("aws_access_key_id", "access_key_id", "access_key", "s3.access-key-id"),
    "secret_access_key": (
        "aws_secret_access_key",
        "secret_access_key",
        "secret_key",
        "s3.secret-access-key",
    ),
    "session_token": ("aws_session_token", "session_token", "token", "s3.session-token"),
    "region": ("aws_region", "aws_default_region", "region", "s3.region"),
    "allow_http": ("aws_allow_http", "allow_http"),
}
_ENV = {
    "endpoint": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "access_key_id": ("AWS_ACCESS_KEY_ID",),
    "secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "session_token": ("AWS_SESSION_TOKEN",),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "allow_http": ("AWS_ALLOW_HTTP",),
}


@dataclass(frozen=True)
class StorageConfig:
    """Object-store settings in one canonical spelling (empty for local lakes)."""

    endpoint: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    region: str | None = None
    allow_http: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: dict[str, str] | None, *, use_env: bool = True) -> StorageConfig:
        """Read ``options`` (any spelling), falling back to AWS_* environment variables."""
        lowered = {k.lower(): str(v) for k, v in (options or {}).items()}
        known = {alias for aliases in _ALIASES.values() for alias in aliases}
        values: dict[str, str | None] = {}
        for key, aliases in _ALIASES.items():
            found = next((lowered[a] for a in aliases if a in lowered), None)
            if found is None and use_env:
                found = next((os.environ[e] for e in _ENV[key] if os.environ.get(e)), None)
            values[key] = found
        endpoint = values["endpoint"]
        allow_http = (values["allow_http"] or "").lower() in ("1", "true", "yes") or bool(
            endpoint and endpoint.startswith("http://")
        )
        extra = {k: str(v) for k, v in (options or {}).items() if k.lower() not in known}
        return cls(
            endpoint=endpoint,
            access_key_id=values["access_key_id"],
            secret_access_key=values["secret_access_key"],
            session_token=values["session_token"],
            region=values["region"],
            allow_http=allow_http,
            extra=extra,
        )

    def delta_options(self) -> dict[str, str]:
        """``storage_options`` for deltalake (object_store keys)."""
        pairs = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
            "AWS_REGION": self.region,
            "AWS_ALLOW_HTTP": "true" if self.allow_http else None,
        }
        return {**{k: v for k, v in pairs.items() if v}, **self.extra}

    def iceberg_properties(self) -> dict[str, str]:
        """FileIO properties for pyiceberg (``s3.*`` keys)."""
        pairs = {
            "s3.endpoint": self.endpoint,
            "s3.access-key-id": self.access_key_id,
            "s3.secret-access-key": self.secret_access_key,
            "s3.session-token": self.session_token,
            "s3.region": self.region,
        }
        return {k: v for k, v in pairs.items() if v}

    def pyarrow_s3(self) -> pafs.S3FileSystem:
        import pyarrow.fs as pafs

        endpoint, scheme = self.endpoint, "https"
        if endpoint and "://" in endpoint:
            scheme, endpoint = endpoint.split("://", 1)
        return pafs.S3FileSystem(
            endpoint_override=endpoint,
            scheme=scheme,
            access_key=self.access_key_id,
            secret_key=self.secret_access_key,
            session_token=self.session_token,
            region=self.region or "us-east-1",
        )


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def filesystem(uri: str, storage: StorageConfig) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem for ``uri`` and the path inside it (``bucket/prefix`` for S3)."""
    import pyarrow.fs as pafs

    if uri.startswith("s3://") or uri.startswith("s3a://"):
        return storage.pyarrow_s3(), uri.split("://", 1)[1].rstrip("/")
    if uri.startswith("file://"):
        return pafs.LocalFileSystem(), uri[len("file://") :]
    if "://" in uri:
        fs, path = pafs.FileSystem.from_uri(uri)
        return fs, path
    return pafs.LocalFileSystem(), os.path.abspath(uri)


def find_dirs_with(uri: str, storage: StorageConfig, marker: str) -> list[str]:
    """Relative paths of folders under ``uri`` that directly contain ``marker`` (``_delta_log``).

    Walks one level at a time (a delimiter listing on S3) and does not descend into a
    table once found, so listing a lake costs one request per folder, not per file.
    """
    import pyarrow.fs as pafs

    fs, base = filesystem(uri, storage)
    found: list[str] = []
    pending = [base]
    while pending:
        current = pending.pop()
        try:
            infos = fs.get_file_info(pafs.FileSelector(current, allow_not_found=True))
        except FileNotFoundError:
            continue
        dirs = [i for i in infos if i.type == pafs.FileType.Directory]
        if current != base and any(i.base_name == marker for i in dirs):
            found.append(current[len(base) :].strip("/"))
            continue
        pending.extend(i.path for i in dirs if i.base_name != marker)
    return sorted(found)


def delete_tree(uri: str, storage: StorageConfig) -> None:
    """Delete everything under ``uri`` (a table's folder)."""
    fs, path = filesystem(uri, storage)
    with contextlib.suppress(FileNotFoundError):
        fs.delete_dir(path)
