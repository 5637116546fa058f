{{ config(materialized='view', tags=['staging']) }}
{#- Latest version of each order, one flag column per status. -#}
{%- set statuses = var('statuses') %}
select
    order_id,
    customer_id,
    cast(order_date as date) as order_date,
    cast(updated_at as timestamp) as updated_at,
    lower(status) as status,
    {%- for s in statuses %}
    lower(status) = '{{ s }}' as is_{{ s }},
    {%- endfor %}
    cast(amount as decimal(12, 2)) as amount,
    currency
from {{ source('shop', 'orders') }}
where amount >= {{ var('min_amount') }}
qualify row_number() over (partition by order_id order by updated_at desc) = 1
