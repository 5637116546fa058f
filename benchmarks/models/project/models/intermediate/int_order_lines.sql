{{ config(materialized='ephemeral') }}
select
    i.order_id,
    i.product_id,
    p.category,
    i.quantity,
    i.line_total,
    i.line_total - i.quantity * p.cost as margin
from {{ ref('stg_order_items') }} as i
join {{ ref('stg_products') }} as p using (product_id)
