-- Only valid events belong to a session: a flagged event row carries no session_id.
select
    event_id,
    data_quality_flag,
    session_id
from {{ ref('sbdk', 'stg_events') }}
where
    data_quality_flag != 'valid'
    and session_id is not null
