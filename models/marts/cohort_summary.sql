{#- Incremental (see docs/incremental.md): replaced as a whole when the as_of_date
    moved or a model it reads changed since its last build; else left as it is. -#}
{{ config(meta={'sbdk_unit': 'all', 'sbdk_upstream': ['user_metrics']}) }}
{%- set plan = sbdk.whole_table_plan() -%}
{{ sbdk.plan_marker(plan) }}

with

users as (
    select
        user_id,
        signup_date,
        total_orders,
        total_revenue,
        user_lifecycle_stage,
        customer_age_days
    from {{ ref('sbdk', 'user_metrics') }}
),

cohorts as (
    select
        cast({{ dbt.date_trunc('month', 'signup_date') }} as date) as cohort_month,
        count(*) as cohort_size,
        sum(case when total_orders > 0 then 1 else 0 end) as buyers_in_cohort,
        sum(total_revenue) as cohort_revenue,
        {#- Averages as exact sums over counts: avg() of doubles depends on the
            order a parallel aggregate adds them in, and builds must be identical. -#}
        {{ sbdk.safe_ratio('sum(total_revenue)', 'count(*)') }} as avg_revenue_per_user,
        sum(case when user_lifecycle_stage = 'active' then 1 else 0 end) as active_users,
        sum(case when user_lifecycle_stage = 'engaged' then 1 else 0 end) as engaged_users,
        sum(case when user_lifecycle_stage = 'dormant' then 1 else 0 end) as dormant_users,
        {{ sbdk.safe_ratio('sum(customer_age_days)', 'count(*)') }} as avg_customer_age_days,
        {{ sbdk.median('customer_age_days') }} as median_customer_age_days
    from users
    group by 1
),

final as (
    select
        cohort_month,
        cast(cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(buyers_in_cohort as {{ dbt.type_bigint() }}) as buyers_in_cohort,
        cast(cohort_revenue as {{ sbdk.type_money_sum() }}) as cohort_revenue,
        cast(avg_revenue_per_user as {{ sbdk.type_double() }}) as avg_revenue_per_user,
        cast(active_users as {{ dbt.type_bigint() }}) as active_users,
        cast(engaged_users as {{ dbt.type_bigint() }}) as engaged_users,
        cast(dormant_users as {{ dbt.type_bigint() }}) as dormant_users,
        {{ sbdk.safe_ratio('buyers_in_cohort', 'cohort_size', 100) }} as buyer_conversion_rate_pct,
        {{ sbdk.safe_ratio('active_users', 'cohort_size', 100) }} as active_retention_rate_pct,
        {{ sbdk.safe_ratio('active_users + engaged_users', 'cohort_size', 100) }} as engaged_retention_rate_pct,
        {{ sbdk.safe_ratio('cohort_revenue', 'buyers_in_cohort') }} as avg_revenue_per_buyer,
        cast(avg_customer_age_days as {{ sbdk.type_double() }}) as avg_customer_age_days,
        median_customer_age_days,
        {{ sbdk.run_timestamp() }} as dbt_updated_at
    from cohorts
)

select * from final
{%- if plan.unchanged %}
where 1 = 0
{%- endif %}
