select
    l.category,
    date_trunc('month', o.order_date) as month,
    sum(l.quantity) as units,
    sum(l.line_total) as revenue,
    sum(l.margin) as margin
from {{ ref('int_order_lines') }} as l
join {{ ref('stg_orders') }} as o using (order_id)
group by all
