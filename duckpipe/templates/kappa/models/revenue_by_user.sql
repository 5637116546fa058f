-- A view over a stream's table: nothing is stored, so it is always as fresh as the stream.
select user_id, count(*) as purchases, sum(amount) as revenue
from {{ source('clicks', 'purchases') }}
group by user_id
