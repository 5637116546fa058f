select
    customer_id,
    country,
    count(*) as orders,
    sum(revenue) as revenue,
    sum(margin) as margin,
    min(order_date) as first_order,
    max(order_date) as last_order
from {{ ref('fct_orders') }}
where status <> 'returned'
group by customer_id, country
