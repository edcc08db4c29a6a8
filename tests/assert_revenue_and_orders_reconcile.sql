-- The revenue and order count of valid orders are the same in every model
-- that carries them. Returns one row per model that disagrees.
with

reference as (
    select sum(order_amount) as revenue, count(*) as orders
    from {{ ref('sbdk', 'stg_orders') }}
    where data_quality_flag = 'valid'
),

models as (
    select 'int_user_orders' as model_name, sum(total_revenue) as revenue, sum(total_orders) as orders
    from {{ ref('sbdk', 'int_user_orders') }}
    union all
    select 'user_metrics' as model_name, sum(total_revenue) as revenue, sum(total_orders) as orders
    from {{ ref('sbdk', 'user_metrics') }}
    union all
    select 'product_summary' as model_name, sum(total_revenue) as revenue, sum(total_orders) as orders
    from {{ ref('sbdk', 'product_summary') }}
    union all
    select
        'product_summary (payment columns)' as model_name,
        sum(total_revenue) as revenue,
        sum(credit_card_orders + paypal_orders + wire_orders + other_payment_orders) as orders
    from {{ ref('sbdk', 'product_summary') }}
    union all
    select
        'product_summary (revenue types)' as model_name,
        sum(recurring_revenue + expansion_revenue + one_time_revenue) as revenue,
        sum(total_orders) as orders
    from {{ ref('sbdk', 'product_summary') }}
    union all
    select 'daily_summary' as model_name, sum(daily_revenue) as revenue, sum(total_orders) as orders
    from {{ ref('sbdk', 'daily_summary') }}
    union all
    select 'cohort_summary' as model_name, sum(cohort_revenue) as revenue, null as orders
    from {{ ref('sbdk', 'cohort_summary') }}
)

select
    models.model_name,
    models.revenue,
    reference.revenue as expected_revenue,
    models.orders,
    reference.orders as expected_orders
from models
cross join reference
where
    coalesce(models.revenue, 0) != coalesce(reference.revenue, 0)
    or (models.orders is not null and models.orders != reference.orders)
