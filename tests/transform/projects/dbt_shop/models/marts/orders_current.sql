{{ config(materialized='incremental', unique_key='order_id', incremental_strategy='merge') }}
select order_id, customer_id, order_date, updated_at, status, amount_usd
from {{ ref('int_orders_usd') }}
{% if is_incremental() %}
where updated_at > (select max(updated_at) from {{ this }})
{% endif %}
