"""Regenerate the reference project's sample CSV files (deterministic: same files every time).

python sql/generate.py

``sql/data`` is the elt template's ``data/`` folder (the reference project is that template).
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent / "data"
COUNTRIES = ["DE", "FR", "NL", "US", "GB", "ES", "IT", "SE"]
STATUSES = ["placed", "shipped", "completed", "completed", "completed", "returned"]
METHODS = ["card", "card", "bank_transfer", "voucher", "paypal"]


def main() -> None:
    rng = random.Random(42)
    start = datetime(2025, 1, 1)
    customers = [
        {
            "customer_id": i,
            "name": f"customer {i:04d}",
            "email": f"c{i:04d}@example.com",
            "country": rng.choice(COUNTRIES),
            "signup_date": (date(2024, 1, 1) + timedelta(days=rng.randrange(365))).isoformat(),
        }
        for i in range(1, 501)
    ]
    orders, payments = [], []
    payment_id = 1
    for order_id in range(1, 3001):
        placed = start + timedelta(minutes=rng.randrange(60 * 24 * 180))
        amount = round(rng.uniform(5, 400), 2)
        status = rng.choice(STATUSES)
        orders.append(
            {
                "order_id": order_id,
                "customer_id": rng.randint(1, 500),
                "order_date": placed.date().isoformat(),
                "updated_at": placed.isoformat(sep=" "),
                "status": status,
                "amount": f"{amount:.2f}",
            }
        )
        parts = 1 if rng.random() < 0.85 else 2
        for part in range(parts):
            share = amount if parts == 1 else round(amount / 2, 2) + (0.01 * part if part else 0)
            payments.append(
                {
                    "payment_id": payment_id,
                    "order_id": order_id,
                    "method": rng.choice(METHODS),
                    "amount": f"{share:.2f}",
                    "paid_at": (placed + timedelta(minutes=rng.randrange(1, 600))).isoformat(
                        sep=" "
                    ),
                }
            )
            payment_id += 1
    for name, rows in (("customers", customers), ("orders", orders), ("payments", payments)):
        with (HERE / f"{name}.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
