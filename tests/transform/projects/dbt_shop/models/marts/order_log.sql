{{ config(materialized='incremental') }}
select order_id, status, cast(updated_at as timestamp) as updated_at
from {{ source('shop', 'orders') }}
{% if is_incremental() %}
where cast(updated_at as timestamp) > (select max(updated_at) from {{ this }})
{% endif %}
