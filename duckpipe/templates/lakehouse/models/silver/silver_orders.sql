-- Silver layer: one row per order (its latest state), typed and with a clean status.
-- Incremental, each run merges only what bronze received since the last one into the
-- order-day partitions it touches.
{{ config(unique_key='order_id', partition_by=['order_date']) }}
select
    order_id,
    customer_id,
    cast(order_date as date) as order_date,
    cast(updated_at as timestamp) as updated_at,
    lower(trim(status)) as status,
    cast(amount as decimal(12, 2)) as amount,
    _extracted_at
from {{ source('shop', 'orders') }}
{% if is_incremental() %}
where _extracted_at > (select max(_extracted_at) from {{ this }})
{% endif %}
qualify row_number() over (partition by order_id order by updated_at desc) = 1
