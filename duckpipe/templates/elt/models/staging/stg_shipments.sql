-- The schema is applied on read. raw_order_events keeps every payload as delivered (its
-- fields differ by event type); this view decides what a shipment is and types its fields.
select
    event_id,
    order_id,
    cast("at" as timestamp) as shipped_at,  -- UTC
    payload.carrier as carrier,
    payload.tracking as tracking_number,
    cast(payload.parcels as integer) as parcels
from {{ source('shop', 'order_events') }}
where "type" = 'shipped'
