select product_id, category, cast(cost as decimal(12, 2)) as cost
from read_parquet('{{ var("data_dir") }}/products.parquet')
