select order_date, channel, count(*) as orders, sum(revenue) as revenue, sum(margin) as margin
from {{ ref('fct_orders') }}
group by order_date, channel
