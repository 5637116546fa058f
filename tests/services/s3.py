"""An S3-compatible object store on loopback: moto in server mode, in its own process.

One server per test session, one fresh bucket per test. Clients need the endpoint,
path-style addressing, plain HTTP and the fixed ``testing`` credentials; the helpers
below give each library its own spelling of those settings:

    with S3Service.launch() as s3:
        bucket = s3.make_bucket()
        deltalake.write_deltalake(f"s3://{bucket}/t", table,
                                  storage_options=s3.delta_storage_options())
        catalog = SqlCatalog("c", uri=..., warehouse=f"s3://{bucket}/wh",
                             **s3.iceberg_properties())
"""

from __future__ import annotations

import sys
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tests.services.process import ManagedProcess
from tests.services.service import Service


@dataclass
class S3Service(Service):
    """A running moto S3 server; ``endpoint_url`` is its address."""

    kind: ClassVar[str] = "s3"
    region: str = "us-east-1"
    access_key: str = "testing"
    secret_key: str = "testing"
    start_timeout: float = 30.0
    _client: Any = field(default=None, init=False, repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _setup(self) -> None:
        argv = [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]
        self._process = ManagedProcess("moto S3 server", argv, self.root / "moto.log")

    def _is_ready(self) -> bool:
        with urllib.request.urlopen(f"{self.endpoint_url}/", timeout=1) as response:
            return bool(response.status == 200)

    def env(self) -> dict[str, str]:
        """Environment variables for SDKs that read AWS settings from the environment."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ALLOW_HTTP": "true",
        }

    def client(self) -> Any:
        """A boto3 S3 client for this server (one, shared: boto3 clients are thread-safe)."""
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def _new_client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def make_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh random name by default) and return its name."""
        bucket = name or f"test-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def delta_storage_options(self) -> dict[str, str]:
        """``storage_options`` for deltalake (delta-rs / object_store keys)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_ALLOW_HTTP": "true",
        }

    def iceberg_properties(self) -> dict[str, str]:
        """Catalog / FileIO properties for pyiceberg (its ``s3.*`` keys)."""
        return {
            "s3.endpoint": self.endpoint_url,
            "s3.region": self.region,
            "s3.access-key-id": self.access_key,
            "s3.secret-access-key": self.secret_key,
        }

    def pyarrow_filesystem(self) -> Any:
        """A ``pyarrow.fs.S3FileSystem`` for this server."""
        from pyarrow import fs

        return fs.S3FileSystem(
            endpoint_override=self.endpoint_url,
            region=self.region,
            access_key=self.access_key,
            secret_key=self.secret_key,
            scheme="http",
        )
