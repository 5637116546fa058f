-- Revenue per customer from completed and shipped orders.
select
    c.customer_id,
    c.name,
    c.country,
    count(op.order_id) as orders,
    coalesce(sum(op.paid_amount), 0) as revenue
from {{ ref('stg_customers') }} as c
left join {{ ref('order_payments') }} as op
    on op.customer_id = c.customer_id and op.status in ('shipped', 'completed')
group by all
