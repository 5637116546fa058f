"""Small real data sets for the quality tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest


@pytest.fixture(scope="session")
def orders() -> pa.Table:
    """Eight orders with one of each problem the checks look for."""
    now = datetime.now(UTC)
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4, 5, 6, 7, 7], pa.int64()),
            "customer_id": [10, 11, 12, 10, 13, 99, 11, 11],
            "region": ["eu", "us", "eu", "eu", "us", "us", "us", "us"],
            "status": [
                "placed",
                "shipped",
                "placed",
                "lost",
                "returned",
                "placed",
                "shipped",
                "shipped",
            ],
            "email": [
                "a@x.com",
                "b@x.com",
                None,
                "not-an-email",
                "c@x.org",
                "d@x.io",
                "e@x.com",
                "e@x.com",
            ],
            "amount": [10.0, 20.0, 30.0, -5.0, 40.0, 50.0, 60.0, 60.0],
            "created_at": pa.array(
                [now - timedelta(hours=h) for h in range(1, 9)], pa.timestamp("us", tz="UTC")
            ),
        }
    )


@pytest.fixture(scope="session")
def customers() -> pa.Table:
    return pa.table({"id": pa.array([10, 11, 12, 13], pa.int64()), "name": ["a", "b", "c", "d"]})


CONFIG = """\
name: wap
lake: ./lake
sources:
  orders:
    uri: data/orders/*.csv
    primary_key: id
models:
  paths:
    marts:
      materialized: table
"""

CHECKS = """\
checks for raw_orders:
  - missing_count(customer_id) = 0
  - invalid_count(status) = 0:
      valid values: [placed, shipped]

checks for stg_orders:
  - duplicate_count(customer_id):
      warn: when > 0

checks for customer_totals:
  - row_count > 0
  - min(total) >= 0
  - values in (customer_id) must exist in customers (id)
"""

MODELS = {
    "staging/stg_orders.sql": "select id, customer_id, cast(amount as double) as amount, status\nfrom raw_orders\n",
    "marts/customer_totals.sql": (
        "select customer_id, sum(amount) as total, count(*) as orders\n"
        "from {{ ref('stg_orders') }}\ngroup by all\n"
    ),
    "marts/top_customers.sql": "select * from {{ ref('customer_totals') }} where total > 50\n",
}


def write_orders(root: Path, name: str, rows: list[str]) -> None:
    folder = root / "data" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("id,customer_id,amount,status\n" + "\n".join(rows) + "\n")


@pytest.fixture
def wap_project(tmp_path: Path) -> Path:
    """A small project: a files source, a view, two table marts, a seed, checks for three datasets."""
    root = tmp_path / "wap"
    (root / "checks").mkdir(parents=True)
    (root / "duckpipe.yml").write_text(CONFIG)
    (root / "checks" / "wap.yml").write_text(CHECKS)
    (root / "seeds").mkdir()
    (root / "seeds" / "customers.csv").write_text("id,name\n1,ann\n2,bob\n3,cy\n")
    for path, sql in MODELS.items():
        (root / "models" / path).parent.mkdir(parents=True, exist_ok=True)
        (root / "models" / path).write_text(sql)
    write_orders(root, "1.csv", ["1,1,40,placed", "2,1,30,shipped", "3,2,20,placed"])
    return root
