{#- One row per raw event row, flagged, with per-user sessions on valid
    events; see _staging__models.yml for the rules. -#}
{%- set raw_relation = source('raw', 'raw_events') -%}
{%- set types = sbdk.raw_column_types(
    raw_relation, ['event_id', 'user_id', 'event_type', 'timestamp', 'utm_source']
) -%}
{%- set timeout_seconds = sbdk.number_var('session_timeout_minutes') ~ ' * 60' -%}
{%- set window_seconds = sbdk.number_var('max_session_duration_hours') ~ ' * 3600' -%}

with

source as (
    select * from {{ raw_relation }}
),

valid_users as (
    select
        user_id,
        created_at
    from {{ ref('stg_users') }}
    where data_quality_flag = 'valid'
),

event_categories as (
    select
        cast(event_type as {{ dbt.type_string() }}) as event_type,
        cast(event_category as {{ dbt.type_string() }}) as event_category
    from {{ ref('sbdk_event_type_categories') }}
),

parsed as (
    select
        {{ sbdk.parse_id('event_id', types.get('event_id')) }} as event_id,
        {{ sbdk.parse_id('user_id', types.get('user_id')) }} as user_id,
        coalesce(lower({{ sbdk.clean_text('event_type') }}), 'unknown') as event_type,
        {{ sbdk.parse_timestamp(adapter.quote('timestamp'), types.get('timestamp')) }} as event_timestamp,
        lower({{ sbdk.clean_text('utm_source') }}) as utm_source
    from source
),

early_flags as (
    select
        *,
        case
            when event_id is null then 'missing_id'
            when user_id is null then 'missing_user_id'
            when event_timestamp is null then 'missing_timestamp'
        end as early_flag
    from parsed
),

id_ranked as (
    select
        *,
        case
            when early_flag is null then row_number() over (
                partition by event_id, early_flag
                order by
                    event_timestamp,
                    user_id nulls last,
                    event_type nulls last,
                    utm_source nulls last
            )
        end as id_rank
    from early_flags
),

flagged as (
    select
        id_ranked.event_id,
        id_ranked.user_id,
        id_ranked.event_type,
        id_ranked.event_timestamp,
        id_ranked.utm_source,
        {{ sbdk.activity_row_flag(
            'id_ranked.early_flag', 'id_ranked.id_rank', 'valid_users.user_id',
            'id_ranked.event_timestamp', 'valid_users.created_at'
        ) }} as data_quality_flag
    from id_ranked
    left join valid_users
        on id_ranked.user_id = valid_users.user_id
),

{# Sessions, over all rows partitioned by flag so that no join back is needed
    (only the valid partition's numbers are kept): a gap strictly longer than
    the timeout opens a session; the running maximum of the opening timestamps
    is the current session's start, from which it is cut into windows of
    max_session_duration_hours, each non-empty window a session of its own. -#}
with_previous as (
    select
        *,
        lag(event_timestamp) over (
            partition by user_id, data_quality_flag
            order by event_timestamp, event_id
        ) as previous_timestamp
    from flagged
),

session_openings as (
    select
        *,
        case
            when previous_timestamp is null then 1
            when {{ sbdk.seconds_between('previous_timestamp', 'event_timestamp') }} > {{ timeout_seconds }} then 1
            else 0
        end as opens_session
    from with_previous
),

activity_sessions as (
    select
        *,
        sum(opens_session) over (
            partition by user_id, data_quality_flag
            order by event_timestamp, event_id
            rows between unbounded preceding and current row
        ) as activity_session_number,
        max(case when opens_session = 1 then event_timestamp end) over (
            partition by user_id, data_quality_flag
            order by event_timestamp, event_id
            rows between unbounded preceding and current row
        ) as activity_session_start
    from session_openings
),

session_windows as (
    select
        *,
        floor(
            {{ sbdk.seconds_between('activity_session_start', 'event_timestamp') }} / ({{ window_seconds }})
        ) as window_number
    from activity_sessions
),

sessions as (
    select
        *,
        case
            when data_quality_flag = 'valid' then {{ dbt.concat([
                'cast(user_id as ' ~ dbt.type_string() ~ ')',
                "'-'",
                'cast(dense_rank() over (partition by user_id, data_quality_flag order by activity_session_number, window_number) as ' ~ dbt.type_string() ~ ')'
            ]) }}
        end as session_id
    from session_windows
),

final as (
    select
        sessions.event_id,
        sessions.user_id,
        sessions.event_type,
        sessions.event_timestamp,
        sessions.utm_source,
        coalesce(event_categories.event_category, 'other') as event_category,
        cast(sessions.event_timestamp as date) as event_date,
        cast(extract(hour from sessions.event_timestamp) as integer) as event_hour,
        {{ sbdk.day_of_week('sessions.event_timestamp') }} as day_of_week,
        sessions.session_id,
        sessions.data_quality_flag,
        {{ sbdk.run_timestamp() }} as dbt_updated_at
    from sessions
    left join event_categories
        on sessions.event_type = event_categories.event_type
)

select * from final
