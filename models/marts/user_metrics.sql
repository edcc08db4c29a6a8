{#- Incremental (see docs/incremental.md): replaced as a whole when the as_of_date
    moved or a model it reads changed since its last build; else left as it is. -#}
{{ config(sbdk_unit='all', sbdk_upstream=['int_user_activity', 'int_user_orders']) }}
{%- set plan = sbdk.whole_table_plan() -%}
{{ sbdk.plan_marker(plan) }}

with

activity as (
    select * from {{ ref('int_user_activity') }}
),

orders as (
    select * from {{ ref('int_user_orders') }}
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
        cast(
            {{ dbt.datediff('activity.signup_date', sbdk.as_of_date(), 'day') }}
            as {{ dbt.type_bigint() }}
        ) as customer_age_days
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
        case
            when customer_age_days > 0 then {{ sbdk.safe_ratio('total_revenue', 'customer_age_days') }}
            else cast(0 as {{ sbdk.type_double() }})
        end as daily_customer_value,
        cast(
            least(
                100,
                active_days * 2
                + total_orders * 5
                + case when total_revenue > 100 then 20 else 0 end
                + case when user_lifecycle_stage = 'active' then 15 else 0 end
            )
            as {{ dbt.type_bigint() }}
        ) as user_quality_score,
        {{ sbdk.run_timestamp() }} as dbt_updated_at
    from joined
)

select * from final
{%- if plan.unchanged %}
where 1 = 0
{%- endif %}
