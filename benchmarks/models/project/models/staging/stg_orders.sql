select
    order_id,
    customer_id,
    cast(order_date as date) as order_date,
    lower(status) as status,
    channel
from read_parquet('{{ var("data_dir") }}/orders.parquet')
where status <> 'cancelled'
