{#- One row per raw event row, flagged, with per-user sessions on valid
    events; see _staging__models.yml for the rules.
    Incremental (see docs/incremental.md): a build reads the raw rows loaded
    since the last one and rewrites every row of the users they can change
    (their own, other users' holding a copy of an arrived id, users changed in
    stg_users, users with a row in the as_of band). -#}
{{ config(
    meta={'sbdk_raw': 'raw_events', 'sbdk_unit': 'user_id'},
    pre_hook=sbdk.snapshot_hooks().pre, post_hook=sbdk.snapshot_hooks().post
) }}
{%- set raw_relation = source('raw', 'raw_events') -%}
{%- set types = sbdk.raw_column_types(
    raw_relation, ['event_id', 'user_id', 'event_type', 'timestamp', 'utm_source']
) -%}
{%- set timeout_seconds = sbdk.number_var('session_timeout_minutes') ~ ' * 60' -%}
{%- set window_seconds = sbdk.number_var('max_session_duration_hours') ~ ' * 3600' -%}
{%- set plan = sbdk.incremental_plan(raw_relation) -%}
{{ sbdk.plan_marker(plan) }}
{%- set early_flags = "('missing_id', 'missing_user_id', 'missing_timestamp')" -%}

with

source as (
    select * from {{ raw_relation }}
    {%- if plan.incremental %}
    where {{ sbdk.loaded_after_watermark(plan) }}
    {%- endif %}
),

valid_users as (
    select
        user_id,
        created_at
    from {{ ref('sbdk', 'stg_users') }}
    where data_quality_flag = 'valid'
),

event_categories as (
    select
        cast(event_type as {{ dbt.type_string() }}) as event_type,
        cast(event_category as {{ dbt.type_string() }}) as event_category
    from {{ ref('sbdk', 'sbdk_event_type_categories') }}
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

arrived as (
    select
        *,
        case
            when event_id is null then 'missing_id'
            when user_id is null then 'missing_user_id'
            when event_timestamp is null then 'missing_timestamp'
        end as early_flag
    from parsed
),

{% if plan.incremental %}
affected_users as (
    select user_id from arrived where user_id is not null
    union
    {{ sbdk.users_rewritten_since(ref('sbdk', 'stg_users'), plan) }}
    union
    select user_id from {{ this }}
    where
        user_id is not null
        and data_quality_flag not in {{ early_flags }}
        and event_id in (select event_id from arrived where early_flag is null)
    union
    select user_id from {{ this }}
    where user_id is not null and {{ sbdk.as_of_band('event_timestamp', plan) }}
),

rewritten as (
    select
        event_id,
        user_id,
        event_type,
        event_timestamp,
        utm_source,
        case when data_quality_flag in {{ early_flags }} then data_quality_flag end as early_flag
    from {{ this }}
    where user_id in (select user_id from affected_users)
    union all
    select event_id, user_id, event_type, event_timestamp, utm_source, early_flag
    from arrived
),

{#- The rewritten ids other users may hold a copy of. Every copy of an id
    but its kept one is a duplicate_id row, so an id held twice before this
    build has a duplicate_id row; a copy new in this build arrived in it. #}
copied_ids as (
    select event_id from rewritten
    where
        early_flag is null
        and (
            event_id in (select event_id from arrived)
            or event_id in (select event_id from {{ this }} where data_quality_flag = 'duplicate_id')
        )
),

{% endif %}

rows_in as (
    select *, 0 as is_other_copy from {{ 'rewritten' if plan.incremental else 'arrived' }}
    {%- if plan.incremental %}
    {#- Other users' copies of the rewritten ids: read for the ranking only. #}
    union all
    select event_id, user_id, event_type, event_timestamp, utm_source, cast(null as {{ dbt.type_string() }}), 1
    from {{ this }}
    where
        data_quality_flag not in {{ early_flags }}
        and user_id not in (select user_id from affected_users)
        and event_id in (select event_id from copied_ids)
    {%- endif %}
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
    from rows_in
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
    where id_ranked.is_other_copy = 0
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
