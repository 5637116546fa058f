-- Shipments and parcels per carrier, from the shipment events.
select
    carrier,
    count(*) as shipments,
    sum(parcels) as parcels
from {{ ref('stg_shipments') }}
group by carrier
order by carrier
