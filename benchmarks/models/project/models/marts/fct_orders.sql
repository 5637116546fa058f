with totals as (
    select
        order_id,
        count(*) as lines,
        sum(quantity) as units,
        sum(line_total) as revenue,
        sum(margin) as margin
    from {{ ref('int_order_lines') }}
    group by order_id
)
select
    o.order_id,
    o.customer_id,
    c.country,
    o.order_date,
    o.status,
    o.channel,
    coalesce(t.lines, 0) as lines,
    coalesce(t.units, 0) as units,
    coalesce(t.revenue, 0) as revenue,
    coalesce(t.margin, 0) as margin
from {{ ref('stg_orders') }} as o
join {{ ref('stg_customers') }} as c using (customer_id)
left join totals as t using (order_id)
