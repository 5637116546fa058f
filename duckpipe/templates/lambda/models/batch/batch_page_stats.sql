-- The batch layer: hourly page statistics recomputed from the whole master dataset, with
-- the same windows (UTC hours) and measures as the speed layer, so the two can be merged.
with events as (
    select page, action, amount, timezone('UTC', cast(ts as timestamp)) as event_time
    from {{ source('clicks', 'events') }}
)
select
    page,
    time_bucket(interval 1 hour, event_time, 'UTC') as window_start,
    time_bucket(interval 1 hour, event_time, 'UTC') + interval 1 hour as window_end,
    count(*) as events,
    count(*) filter (where action = 'purchase') as purchases,
    coalesce(sum(amount::decimal(12, 2)), 0) as revenue
from events
group by all
