-- Silver layer: customers with a normalised email address (a small dimension, rebuilt
-- in full each run).
{{ config(materialized='table') }}
select
    customer_id,
    name,
    lower(email) as email,
    country
from {{ source('shop', 'customers') }}
