-- One row per order with what was paid for it.
select
    o.order_id,
    o.customer_id,
    o.order_date,
    o.status,
    o.amount as order_amount,
    coalesce(sum(p.amount), 0) as paid_amount,
    count(p.payment_id) as payments
from {{ ref('stg_orders') }} as o
left join {{ ref('stg_payments') }} as p on p.order_id = o.order_id
group by all
