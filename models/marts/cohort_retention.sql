{#- Incremental (see docs/incremental.md): replaced as a whole when the as_of_date
    moved or a model it reads changed since its last build; else left as it is. -#}
{{ config(meta={'sbdk_unit': 'all', 'sbdk_upstream': ['stg_events', 'stg_users']}) }}
{%- set plan = sbdk.whole_table_plan() -%}
{{ sbdk.plan_marker(plan) }}

with

users as (
    select
        user_id,
        cast({{ dbt.date_trunc('month', 'signup_date') }} as date) as cohort_month
    from {{ ref('sbdk', 'stg_users') }}
    where data_quality_flag = 'valid'
),

cohorts as (
    select
        cohort_month,
        count(*) as cohort_size
    from users
    group by cohort_month
),

{# Offsets 0 .. months from the oldest cohort to the month of as_of_date (the
    bound is read by sbdk.integer_range, which the jinja templater does not see). -#}
oldest_cohort as (
    select
        min(cohort_month) as cohort_month,
        {{ sbdk.as_of_date() }} as as_of_date
    from cohorts
),

month_bounds as (  -- noqa: ST03
    select
        {{ dbt.datediff('cohort_month', 'as_of_date', 'month') }}
            as upper_n
    from oldest_cohort
),

month_offsets as (
    {{ sbdk.integer_range('month_bounds') }}
),

cohort_months as (
    select
        cohorts.cohort_month,
        cohorts.cohort_size,
        month_offsets.n as months_since_signup,
        cast({{ dbt.dateadd('month', 'month_offsets.n', 'cohorts.cohort_month') }} as date) as activity_month
    from cohorts
    inner join month_offsets
        on month_offsets.n <= {{ dbt.datediff('cohorts.cohort_month', sbdk.as_of_date(), 'month') }}
),

monthly_activity as (
    select distinct
        user_id,
        cast({{ dbt.date_trunc('month', 'event_date') }} as date) as activity_month
    from {{ ref('sbdk', 'stg_events') }}
    where data_quality_flag = 'valid'
),

active_counts as (
    select
        users.cohort_month,
        monthly_activity.activity_month,
        count(*) as active_users
    from monthly_activity
    inner join users
        on monthly_activity.user_id = users.user_id
    group by users.cohort_month, monthly_activity.activity_month
),

final as (
    select
        cohort_months.cohort_month,
        cast(cohort_months.months_since_signup as {{ dbt.type_bigint() }}) as months_since_signup,
        cast(cohort_months.cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(coalesce(active_counts.active_users, 0) as {{ dbt.type_bigint() }}) as active_users,
        {{ sbdk.safe_ratio(
            'coalesce(active_counts.active_users, 0)', 'cohort_months.cohort_size', 100
        ) }} as retention_rate_pct
    from cohort_months
    left join active_counts
        on
            cohort_months.cohort_month = active_counts.cohort_month
            and cohort_months.activity_month = active_counts.activity_month
)

select * from final
{%- if plan.unchanged %}
where 1 = 0
{%- endif %}
