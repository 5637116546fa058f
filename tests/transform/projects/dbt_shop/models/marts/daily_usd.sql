{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_date'
    )
}}
select order_date, count(*) as orders, sum(amount_usd) as amount_usd
from {{ ref('int_orders_usd') }}
{% if is_incremental() %}
where order_date >= (select max(order_date) from {{ this }})
{% endif %}
group by order_date
