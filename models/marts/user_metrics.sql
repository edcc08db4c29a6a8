{#- Incremental (see docs/incremental.md): the row of every user with rows
    rewritten in staging since the last build is recomputed (int_user_activity
    and int_user_orders recompute exactly those users); when the as_of_date
    moved, the strategy then updates the as_of columns of every row in place,
    from the row itself (sbdk.as_of_dependent_columns). -#}
-- depends_on: {{ ref('sbdk', 'stg_users') }}, {{ ref('sbdk', 'stg_events') }}, {{ ref('sbdk', 'stg_orders') }}
{{ config(meta={'sbdk_unit': 'user_id', 'sbdk_upstream': ['stg_users', 'stg_events', 'stg_orders']}) }}
{%- set plan = sbdk.incremental_plan() -%}
{{ sbdk.plan_marker(plan) }}

with

{% if plan.incremental -%}
affected_users as (
    {{ sbdk.users_rewritten_since(ref('sbdk', 'stg_users'), plan) }}
    union
    {{ sbdk.users_rewritten_since(ref('sbdk', 'stg_events'), plan) }}
    union
    {{ sbdk.users_rewritten_since(ref('sbdk', 'stg_orders'), plan) }}
),

{% endif -%}
activity as (
    select * from {{ ref('sbdk', 'int_user_activity') }}
    {%- if plan.incremental %}
    where user_id in (select user_id from affected_users)
    {%- endif %}
),

orders as (
    select * from {{ ref('sbdk', 'int_user_orders') }}
    {%- if plan.incremental %}
    where user_id in (select user_id from affected_users)
    {%- endif %}
),

joined as (
    select
        activity.user_id,
        activity.created_at,
        activity.country_code,
        activity.referrer_source,
        activity.signup_date,
        activity.total_events,
        activity.active_days,
        activity.pageviews,
        activity.total_sessions,
        activity.avg_events_per_active_day,
        activity.avg_events_per_session,
        activity.user_lifecycle_stage,
        activity.days_since_last_activity,
        orders.total_orders,
        orders.total_revenue,
        orders.avg_order_value,
        orders.customer_value_segment,
        orders.buyer_segment,
        orders.preferred_product_category,
        {{ sbdk.customer_age_days('activity.signup_date') }} as customer_age_days
    from activity
    inner join orders
        on activity.user_id = orders.user_id
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
        total_sessions,
        avg_events_per_active_day,
        avg_events_per_session,
        user_lifecycle_stage,
        days_since_last_activity,
        total_orders,
        total_revenue,
        avg_order_value,
        customer_value_segment,
        buyer_segment,
        preferred_product_category,
        {{ sbdk.safe_ratio('total_orders', 'pageviews') }} as overall_conversion_rate,
        {{ sbdk.safe_ratio('total_revenue', 'active_days') }} as revenue_per_active_day,
        customer_age_days,
        {{ sbdk.daily_customer_value('total_revenue', 'customer_age_days') }} as daily_customer_value,
        {{ sbdk.user_quality_score('active_days', 'total_orders', 'total_revenue', 'user_lifecycle_stage') }}
            as user_quality_score,
        {{ sbdk.run_timestamp() }} as dbt_updated_at
    from joined
)

select * from final
