{{ config(tags=['staging']) }}
select
    customer_id,
    name,
    email,
    country,
    cast(signup_date as date) as signup_date
from {{ source('shop', 'customers') }}
