{#- Incremental (see docs/incremental.md): replaced as a whole when the as_of_date
    moved or a model it reads changed since its last build; else left as it is. -#}
{{ config(meta={'sbdk_unit': 'all', 'sbdk_upstream': ['stg_events', 'stg_orders', 'stg_users']}) }}
{%- set plan = sbdk.whole_table_plan() -%}
{{ sbdk.plan_marker(plan) }}

with

events as (
    select
        user_id,
        event_type,
        event_date,
        session_id
    from {{ ref('sbdk', 'stg_events') }}
    where data_quality_flag = 'valid'
),

orders as (
    select
        user_id,
        order_amount,
        order_date
    from {{ ref('sbdk', 'stg_orders') }}
    where data_quality_flag = 'valid'
),

signups as (
    select signup_date
    from {{ ref('sbdk', 'stg_users') }}
    where data_quality_flag = 'valid'
),

{# Every day from the first to the last day with any valid activity (the
    bounds are read by sbdk.day_spine, which the jinja templater does not see). -#}
day_bounds as (  -- noqa: ST03
    select
        min(first_day) as first_day,
        max(last_day) as last_day
    from (
        select
            min(event_date) as first_day,
            max(event_date) as last_day
        from events
        union all
        select
            min(order_date) as first_day,
            max(order_date) as last_day
        from orders
        union all
        select
            min(signup_date) as first_day,
            max(signup_date) as last_day
        from signups
    ) as activity_days
),

spine as (
    {{ sbdk.day_spine('day_bounds') }}
),

daily_events as (
    select
        event_date,
        count(*) as total_events,
        count(distinct user_id) as active_users,
        count(distinct session_id) as total_sessions,
        sum(case when event_type = 'pageview' then 1 else 0 end) as pageviews,
        sum(case when event_type = 'purchase' then 1 else 0 end) as purchase_events,
        sum(case when event_type = 'signup' then 1 else 0 end) as signup_events
    from events
    group by event_date
),

daily_orders as (
    select
        order_date,
        count(*) as total_orders,
        count(distinct user_id) as unique_buyers,
        sum(order_amount) as daily_revenue
    from orders
    group by order_date
),

daily_signups as (
    select
        signup_date,
        count(*) as new_signups
    from signups
    group by signup_date
),

joined as (
    select
        spine.date_day as report_date,
        coalesce(daily_events.total_events, 0) as total_events,
        coalesce(daily_events.active_users, 0) as active_users,
        coalesce(daily_events.total_sessions, 0) as total_sessions,
        coalesce(daily_events.pageviews, 0) as pageviews,
        coalesce(daily_events.purchase_events, 0) as purchase_events,
        coalesce(daily_events.signup_events, 0) as signup_events,
        coalesce(daily_signups.new_signups, 0) as new_signups,
        coalesce(daily_orders.total_orders, 0) as total_orders,
        coalesce(daily_orders.unique_buyers, 0) as unique_buyers,
        coalesce(daily_orders.daily_revenue, 0) as daily_revenue
    from spine
    left join daily_events
        on spine.date_day = daily_events.event_date
    left join daily_orders
        on spine.date_day = daily_orders.order_date
    left join daily_signups
        on spine.date_day = daily_signups.signup_date
),

final as (
    select
        report_date,
        cast(total_events as {{ dbt.type_bigint() }}) as total_events,
        cast(active_users as {{ dbt.type_bigint() }}) as active_users,
        cast(total_sessions as {{ dbt.type_bigint() }}) as total_sessions,
        cast(pageviews as {{ dbt.type_bigint() }}) as pageviews,
        cast(purchase_events as {{ dbt.type_bigint() }}) as purchase_events,
        cast(signup_events as {{ dbt.type_bigint() }}) as signup_events,
        cast(new_signups as {{ dbt.type_bigint() }}) as new_signups,
        cast(total_orders as {{ dbt.type_bigint() }}) as total_orders,
        cast(unique_buyers as {{ dbt.type_bigint() }}) as unique_buyers,
        cast(daily_revenue as {{ sbdk.type_money_sum() }}) as daily_revenue,
        {{ sbdk.safe_ratio('daily_revenue', 'total_orders') }} as avg_order_value,
        {{ sbdk.safe_ratio('total_orders', 'pageviews', 100) }} as conversion_rate_pct,
        {{ sbdk.safe_ratio('unique_buyers', 'active_users', 100) }} as buyer_rate_pct,
        {{ sbdk.safe_ratio('total_events', 'total_sessions') }} as avg_events_per_session,
        {{ sbdk.run_timestamp() }} as dbt_updated_at
    from joined
)

select * from final
{%- if plan.unchanged %}
where 1 = 0
{%- endif %}
