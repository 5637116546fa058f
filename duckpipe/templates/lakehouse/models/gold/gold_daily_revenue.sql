-- Gold layer: revenue per order day from shipped and completed orders.
select
    order_date,
    count(*) as orders,
    sum(amount) as revenue
from {{ ref('silver_orders') }}
where status in ('shipped', 'completed')
group by order_date
order by order_date
