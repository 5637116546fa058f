-- Orders as landed, typed and with a clean status.
-- materialized: view
-- tags: [staging]
select
    order_id,
    customer_id,
    cast(order_date as date) as order_date,
    cast(updated_at as timestamp) as updated_at,
    lower(status) as status,
    cast(amount as decimal(12, 2)) as amount
from {{ source('shop', 'orders') }}
