"""A project whose files and lake are both on S3 (the S3-compatible server on loopback)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from duckpipe.cli import cli
from tests.ingest.helpers import data_columns, landed, run, write_project

pytestmark = pytest.mark.s3


def test_s3_files_land_in_an_s3_lake_with_dead_letters(s3_service, s3_bucket, tmp_path):
    client = s3_service.client()
    client.put_object(Bucket=s3_bucket, Key="in/a.csv", Body=b"id,amount\n1,1.5\n2,oops\n")
    sources = {
        "orders": {
            "uri": f"s3://{s3_bucket}/in/*.csv",
            "contract": {"dtypes": {"amount": "double"}},
        }
    }
    project = write_project(
        tmp_path,
        sources,
        lake=f"s3://{s3_bucket}/lake",
        storage_options=s3_service.delta_storage_options(),
    )
    assert run(project).ok
    client.put_object(Bucket=s3_bucket, Key="in/b.csv", Body=b"id,amount\n3,3.0\n")
    second = run(project)
    assert second.step("orders").rows == 1
    rows = data_columns(landed(project, "raw_orders")).sort_by("id").to_pylist()
    assert rows == [{"id": 1, "amount": 1.5}, {"id": 3, "amount": 3.0}]
    result = CliRunner().invoke(
        cli, ["--project", str(tmp_path), "dlq", "list", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output.splitlines()[0])["rows"]
    assert [(r["source"], r["rows"]) for r in listed] == [("orders", 1)]
