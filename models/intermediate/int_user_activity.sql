{#- Incremental (see docs/incremental.md): the row of every user with rows
    rewritten in stg_users or stg_events since the last build is recomputed;
    when the as_of_date moved, the strategy then updates the as_of columns of
    every row in place, from the row itself (sbdk.as_of_dependent_columns). -#}
{{ config(meta={'sbdk_unit': 'user_id', 'sbdk_upstream': ['stg_users', 'stg_events']}) }}
{%- set plan = sbdk.incremental_plan() -%}
{{ sbdk.plan_marker(plan) }}

with

{% if plan.incremental -%}
affected_users as (
    {{ sbdk.users_rewritten_since(ref('sbdk', 'stg_users'), plan) }}
    union
    {{ sbdk.users_rewritten_since(ref('sbdk', 'stg_events'), plan) }}
),

{% endif -%}
users as (
    select
        user_id,
        created_at,
        country_code,
        referrer_source,
        signup_date
    from {{ ref('sbdk', 'stg_users') }}
    where
        data_quality_flag = 'valid'
    {%- if plan.incremental %}
        and user_id in (select user_id from affected_users)
    {%- endif %}
),

events as (
    select
        user_id,
        event_type,
        event_timestamp,
        event_date,
        session_id
    from {{ ref('sbdk', 'stg_events') }}
    where
        data_quality_flag = 'valid'
    {%- if plan.incremental %}
        and user_id in (select user_id from affected_users)
    {%- endif %}
),

user_events as (
    select
        user_id,
        count(*) as total_events,
        count(distinct event_date) as active_days,
        sum(case when event_type = 'pageview' then 1 else 0 end) as pageviews,
        sum(case when event_type = 'purchase' then 1 else 0 end) as purchase_events,
        sum(case when event_type = 'login' then 1 else 0 end) as login_events,
        sum(case when event_type = 'signup' then 1 else 0 end) as signup_events,
        count(distinct session_id) as total_sessions,
        min(event_timestamp) as first_event_at,
        max(event_timestamp) as last_event_at
    from events
    group by user_id
),

joined as (
    select
        users.user_id,
        users.created_at,
        users.country_code,
        users.referrer_source,
        users.signup_date,
        cast(coalesce(user_events.total_events, 0) as {{ dbt.type_bigint() }}) as total_events,
        cast(coalesce(user_events.active_days, 0) as {{ dbt.type_bigint() }}) as active_days,
        cast(coalesce(user_events.pageviews, 0) as {{ dbt.type_bigint() }}) as pageviews,
        cast(coalesce(user_events.purchase_events, 0) as {{ dbt.type_bigint() }}) as purchase_events,
        cast(coalesce(user_events.login_events, 0) as {{ dbt.type_bigint() }}) as login_events,
        cast(coalesce(user_events.signup_events, 0) as {{ dbt.type_bigint() }}) as signup_events,
        cast(coalesce(user_events.total_sessions, 0) as {{ dbt.type_bigint() }}) as total_sessions,
        user_events.first_event_at,
        user_events.last_event_at
    from users
    left join user_events
        on users.user_id = user_events.user_id
),

dated as (
    select
        *,
        {{ sbdk.days_since_last_activity('last_event_at') }} as days_since_last_activity
    from joined
),

final as (
    select
        user_id,
        created_at,
        country_code,
        referrer_source,
        signup_date,
        total_events,
        active_days,
        pageviews,
        purchase_events,
        login_events,
        signup_events,
        total_sessions,
        {{ sbdk.safe_ratio('total_events', 'active_days') }} as avg_events_per_active_day,
        {{ sbdk.safe_ratio('total_events', 'total_sessions') }} as avg_events_per_session,
        {{ sbdk.safe_ratio('purchase_events', 'pageviews') }} as purchase_conversion_rate,
        first_event_at,
        last_event_at,
        days_since_last_activity,
        {{ sbdk.user_lifecycle_stage('total_events', 'active_days', 'days_since_last_activity') }}
            as user_lifecycle_stage,
        {{ sbdk.run_timestamp() }} as dbt_updated_at
    from dated
)

select * from final
