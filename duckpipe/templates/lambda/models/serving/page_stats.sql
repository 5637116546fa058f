-- The serving view. The batch layer supersedes the speed layer up to its watermark (the
-- end of its latest window); the speed layer answers for the windows after that.
with batch as (
    select * from {{ ref('batch_page_stats') }}
),
watermark as (
    select max(window_end) as batch_until from batch
)
select page, window_start, window_end, events, purchases, revenue, 'batch' as layer
from batch
union all
select s.page, s.window_start, s.window_end, s.events, s.purchases, s.revenue, 'speed' as layer
from {{ source('clicks', 'speed_page_stats') }} as s, watermark as w
where w.batch_until is null or s.window_start >= w.batch_until
