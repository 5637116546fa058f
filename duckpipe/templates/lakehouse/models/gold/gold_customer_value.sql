-- Gold layer: what each customer has spent, returns excluded.
select
    c.customer_id,
    c.country,
    count(o.order_id) as orders,
    coalesce(sum(o.amount), 0) as spent
from {{ ref('silver_customers') }} as c
left join {{ ref('silver_orders') }} as o
    on o.customer_id = c.customer_id and o.status <> 'returned'
group by all
