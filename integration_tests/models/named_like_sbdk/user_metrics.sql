-- The consumer's own user_metrics, from its own stg_events (one-argument refs
-- resolve to this project's models first).
select
    user_id,
    count(*) as raw_events
from {{ ref('stg_events') }}
group by user_id
