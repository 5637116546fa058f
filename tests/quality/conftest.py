"""Small real data sets for the quality tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
