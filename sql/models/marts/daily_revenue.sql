select
    order_date,
    count(*) as orders,
    sum(paid_amount) as revenue
from {{ ref('order_payments') }}
where status <> 'returned'
group by order_date
order by order_date
