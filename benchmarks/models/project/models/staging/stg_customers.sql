select
    customer_id,
    name,
    upper(country) as country,
    cast(signup_date as date) as signup_date
from read_parquet('{{ var("data_dir") }}/customers.parquet')
