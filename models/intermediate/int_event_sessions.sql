{#- Incremental (see docs/incremental.md): the sessions of every user with rows
    rewritten in stg_events since the last build are replaced. -#}
{{ config(meta={'sbdk_unit': 'user_id', 'sbdk_upstream': ['stg_events']}) }}
{%- set plan = sbdk.incremental_plan() -%}
{{ sbdk.plan_marker(plan) }}

with

events as (
    select
        event_id,
        user_id,
        session_id,
        event_type,
        event_timestamp
    from {{ ref('sbdk', 'stg_events') }}
    where
        data_quality_flag = 'valid'
    {%- if plan.incremental %}
        and user_id in ({{ sbdk.users_rewritten_since(ref('sbdk', 'stg_events'), plan) }})
    {%- endif %}
),

ordered_events as (
    select
        *,
        row_number() over (
            partition by session_id
            order by event_timestamp, event_id
        ) as position_from_start,
        row_number() over (
            partition by session_id
            order by event_timestamp desc, event_id desc
        ) as position_from_end
    from events
),

sessions as (
    select
        user_id,
        session_id,
        min(event_timestamp) as session_start,
        max(event_timestamp) as session_end,
        count(*) as events_in_session,
        count(distinct event_type) as unique_event_types,
        sum(case when event_type = 'pageview' then 1 else 0 end) as pageviews_in_session,
        sum(case when event_type = 'purchase' then 1 else 0 end) as purchases_in_session,
        max(case when position_from_start = 1 then event_type end) as first_event_type,
        max(case when position_from_end = 1 then event_type end) as last_event_type
    from ordered_events
    group by user_id, session_id
),

final as (
    select
        user_id,
        session_id,
        session_start,
        session_end,
        cast(events_in_session as {{ dbt.type_bigint() }}) as events_in_session,
        cast(unique_event_types as {{ dbt.type_bigint() }}) as unique_event_types,
        cast(
            {{ sbdk.seconds_between('session_start', 'session_end') }} / 60.0 as {{ sbdk.type_double() }}
        ) as session_duration_minutes,
        cast(pageviews_in_session as {{ dbt.type_bigint() }}) as pageviews_in_session,
        cast(purchases_in_session as {{ dbt.type_bigint() }}) as purchases_in_session,
        case
            when purchases_in_session > 0 then 'converted'
            when events_in_session >= 5 then 'engaged'
            when events_in_session >= 2 then 'browsed'
            else 'bounced'
        end as session_outcome,
        first_event_type,
        last_event_type,
        {{ sbdk.run_timestamp() }} as dbt_updated_at
    from sessions
)

select * from final
