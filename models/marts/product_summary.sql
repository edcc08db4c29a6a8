{#- Incremental (see docs/incremental.md): replaced as a whole when the as_of_date
    moved or a model it reads changed since its last build; else left as it is. -#}
{{ config(meta={'sbdk_unit': 'all', 'sbdk_upstream': ['stg_orders']}) }}
{%- set plan = sbdk.whole_table_plan() -%}
{{ sbdk.plan_marker(plan) }}

with

orders as (
    select
        order_id,
        user_id,
        order_amount,
        product_category,
        payment_method,
        revenue_type
    from {{ ref('sbdk', 'stg_orders') }}
    where data_quality_flag = 'valid'
),

categories as (
    select
        product_category,
        count(*) as total_orders,
        count(distinct user_id) as unique_buyers,
        sum(order_amount) as total_revenue,
        {{ sbdk.revenue_by_type_sums() }},
        sum(case when payment_method = 'credit_card' then 1 else 0 end) as credit_card_orders,
        sum(case when payment_method = 'paypal' then 1 else 0 end) as paypal_orders,
        sum(case when payment_method = 'wire' then 1 else 0 end) as wire_orders,
        sum(case when payment_method not in ('credit_card', 'paypal', 'wire') then 1 else 0 end) as other_payment_orders
    from orders
    group by product_category
),

final as (
    select
        product_category,
        cast(total_orders as {{ dbt.type_bigint() }}) as total_orders,
        cast(unique_buyers as {{ dbt.type_bigint() }}) as unique_buyers,
        cast(total_revenue as {{ sbdk.type_money_sum() }}) as total_revenue,
        {{ sbdk.safe_ratio('total_revenue', 'total_orders') }} as avg_order_value,
        cast(recurring_revenue as {{ sbdk.type_money_sum() }}) as recurring_revenue,
        cast(expansion_revenue as {{ sbdk.type_money_sum() }}) as expansion_revenue,
        cast(one_time_revenue as {{ sbdk.type_money_sum() }}) as one_time_revenue,
        cast(credit_card_orders as {{ dbt.type_bigint() }}) as credit_card_orders,
        cast(paypal_orders as {{ dbt.type_bigint() }}) as paypal_orders,
        cast(wire_orders as {{ dbt.type_bigint() }}) as wire_orders,
        cast(other_payment_orders as {{ dbt.type_bigint() }}) as other_payment_orders,
        {{ sbdk.safe_ratio('total_revenue', 'total_orders') }} as revenue_per_order,
        {{ sbdk.safe_ratio('total_revenue', 'unique_buyers') }} as revenue_per_buyer,
        {{ sbdk.run_timestamp() }} as dbt_updated_at
    from categories
)

select * from final
{%- if plan.unchanged %}
where 1 = 0
{%- endif %}
