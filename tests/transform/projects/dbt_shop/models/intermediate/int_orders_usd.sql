{{ config(materialized='ephemeral') }}
select
    o.*,
    {{ to_usd('o.amount', 'fx.rate') }} as amount_usd
from {{ ref('stg_orders') }} as o
join {{ ref('fx_rates') }} as fx using (currency)
