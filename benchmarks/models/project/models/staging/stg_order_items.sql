select
    item_id,
    order_id,
    product_id,
    quantity,
    cast(unit_price as decimal(12, 2)) as unit_price,
    quantity * cast(unit_price as decimal(12, 2)) as line_total
from read_parquet('{{ var("data_dir") }}/order_items.parquet')
