"""The elt template: raw landings with metadata columns, models that apply the schema on read."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

from tests.patterns.helpers import (
    duckpipe,
    init_project,
    lake_of,
    money,
    query,
    read_csv,
    read_ndjson,
)

METADATA = ["_extracted_at", "_source", "_run_id"]


def test_raw_lands_as_delivered_and_the_models_read_it_with_a_schema(tmp_path: Path) -> None:
    root = init_project(tmp_path, "elt")
    duckpipe(root, "run")
    lake = lake_of(root)
    events = read_ndjson(root / "data" / "order_events.ndjson")

    raw = lake.dataset("raw_order_events").to_table()
    assert raw.column_names == ["event_id", "order_id", "type", "at", "payload", *METADATA]
    payload = raw.schema.field("payload").type
    assert sorted(payload.names) == ["carrier", "channel", "parcels", "reason", "tracking"]
    assert {r["_source"] for r in raw.to_pylist()} == {"order_events"}
    by_id = {r["event_id"]: r["payload"] for r in raw.to_pylist()}
    for event in events:  # each payload as delivered; the fields it lacks are null
        assert {k: v for k, v in by_id[event["event_id"]].items() if v is not None} == event[
            "payload"
        ]
    for source in ("orders", "customers", "payments"):
        assert lake.schema(f"raw_{source}").names[-3:] == METADATA

    shipped = [e for e in events if e["type"] == "shipped"]
    shipments = query(root, "select * from stg_shipments")
    assert {
        s["event_id"]: (s["carrier"], s["tracking_number"], s["parcels"]) for s in shipments
    } == {
        e["event_id"]: (e["payload"]["carrier"], e["payload"]["tracking"], e["payload"]["parcels"])
        for e in shipped
    }
    carriers = Counter(e["payload"]["carrier"] for e in shipped)
    parcels = Counter()
    for e in shipped:
        parcels[e["payload"]["carrier"]] += e["payload"]["parcels"]
    stats = query(root, "select * from carrier_stats")
    assert {s["carrier"]: (s["shipments"], s["parcels"]) for s in stats} == {
        c: (n, parcels[c]) for c, n in carriers.items()
    }

    paid = sum((money(p["amount"]) for p in read_csv(root / "data" / "payments.csv")), Decimal(0))
    assert query(root, "select sum(paid_amount) as s from order_payments")[0]["s"] == paid


def test_a_new_model_reads_raw_fields_without_landing_again(tmp_path: Path) -> None:
    root = init_project(tmp_path, "elt")
    duckpipe(root, "run")
    landed = lake_of(root).version("raw_order_events")
    (root / "models" / "staging" / "stg_returns.sql").write_text(
        "select order_id, payload.reason as reason\n"
        "from {{ source('shop', 'order_events') }} where type = 'returned'\n"
    )
    duckpipe(root, "run", "-s", "stg_returns")
    returned = [
        e for e in read_ndjson(root / "data" / "order_events.ndjson") if e["type"] == "returned"
    ]
    assert sorted(
        (r["order_id"], r["reason"]) for r in query(root, "select * from stg_returns")
    ) == sorted((e["order_id"], e["payload"]["reason"]) for e in returned)
    assert lake_of(root).version("raw_order_events") == landed
