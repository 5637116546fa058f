{{ config(partition_by=['country']) }}
with orders as (
    select * from {{ ref('int_orders_usd') }}
    {% if target.type == 'duckdb' -%}
    where not is_returned
    {%- endif %}
)
select
    c.customer_id,
    c.name,
    c.country,
    count(o.order_id) as orders,
    coalesce(sum(o.amount_usd), 0) as revenue_usd
from {{ ref('stg_customers') }} as c
left join orders as o using (customer_id)
group by all
