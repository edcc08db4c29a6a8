-- Valid event and session counts agree across the models that carry them
-- (daily session counts excepted: a session spanning midnight counts on each day).
-- Sessions are counted once, as the rows of int_event_sessions, whose key tests
-- make each row one distinct session; its events add up to the valid events.
with

valid_events as (
    select count(*) as events
    from {{ ref('sbdk', 'stg_events') }}
    where data_quality_flag = 'valid'
),

session_rows as (
    select count(*) as sessions
    from {{ ref('sbdk', 'int_event_sessions') }}
),

reference as (
    select
        valid_events.events,
        session_rows.sessions
    from valid_events
    cross join session_rows
),

models as (
    select 'int_user_activity' as model_name, sum(total_events) as events, sum(total_sessions) as sessions
    from {{ ref('sbdk', 'int_user_activity') }}
    union all
    select 'user_metrics' as model_name, sum(total_events) as events, sum(total_sessions) as sessions
    from {{ ref('sbdk', 'user_metrics') }}
    union all
    select 'int_event_sessions' as model_name, sum(events_in_session) as events, null as sessions
    from {{ ref('sbdk', 'int_event_sessions') }}
    union all
    select 'daily_summary' as model_name, sum(total_events) as events, null as sessions
    from {{ ref('sbdk', 'daily_summary') }}
)

select
    models.model_name,
    models.events,
    reference.events as expected_events,
    models.sessions,
    reference.sessions as expected_sessions
from models
cross join reference
where
    coalesce(models.events, 0) != reference.events
    or (models.sessions is not null and models.sessions != reference.sessions)
