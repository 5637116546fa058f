select
    country,
    date_trunc('month', order_date) as month,
    count(distinct customer_id) as customers,
    sum(revenue) as revenue
from {{ ref('fct_orders') }}
group by all
