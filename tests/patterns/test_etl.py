"""The etl template: sources cleaned in flight, only the cleaned rows published."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from tests.patterns.helpers import duckpipe, init_project, lake_of, read_csv


def cleaned(row: dict[str, str]) -> dict | None:
    """The template's in-flight SQL, written again in Python (None: not a business order)."""
    status = row["status"].strip().lower()
    if status == "test":
        return None
    try:
        amount: Decimal | None = Decimal(row["amount"].strip().replace("$", ""))
    except InvalidOperation:
        amount = None
    try:
        ordered_at: datetime | None = datetime.fromisoformat(row["ordered_at"])
    except ValueError:
        ordered_at = None
    return {
        "order_id": int(row["id"]),
        "customer_email": row["email"].strip().lower(),
        "ordered_at": ordered_at,
        "amount": amount,
        "currency": (row["currency"].strip() or "EUR").upper(),
        "status": status,
    }


def test_only_the_cleaned_rows_are_published(tmp_path: Path) -> None:
    root = init_project(tmp_path, "etl")
    duckpipe(root, "run")
    raw = read_csv(root / "data" / "orders" / "2025-06-01.csv")
    clean = [c for c in map(cleaned, raw) if c is not None]
    good = {c["order_id"]: c for c in clean if c["amount"] is not None and c["ordered_at"]}
    broken = sorted(c["order_id"] for c in clean if c["order_id"] not in good)
    assert len(raw) == 60 and len(good) == 54 and broken == [8, 22, 34]

    lake = lake_of(root)
    orders = lake.dataset("orders").to_table()
    assert orders.column_names == [
        *["order_id", "customer_email", "ordered_at", "amount", "currency", "status"],
        *["_extracted_at", "_source", "_run_id"],
    ]  # the raw columns (id, email, ...) never land
    published = {r["order_id"]: r for r in orders.to_pylist()}
    assert {k: {c: v[c] for c in good[k]} for k, v in published.items()} == good

    dead = lake.dataset("_dlq/orders").to_table().to_pylist()
    assert sorted(json.loads(d["raw"])["order_id"] for d in dead) == broken
    assert {d["column_name"] for d in dead} == {"amount", "ordered_at"}

    customers = lake.dataset("customers").to_table().to_pylist()
    assert len(customers) == 20
    assert all(c["email"] == c["email"].strip().lower() for c in customers)
    assert {c["country"] for c in customers} <= {"DE", "FR", "GB", "US"}
    assert {c["name"] for c in customers} == {f"User {i:02d}" for i in range(1, 21)}

    version = lake.version("orders")
    duckpipe(root, "run")  # nothing new: nothing is committed again
    assert lake_of(root).version("orders") == version
