{#- Incremental (see docs/incremental.md): the row of every user with rows
    rewritten in stg_users or stg_orders since the last build is replaced. -#}
{{ config(meta={'sbdk_unit': 'user_id', 'sbdk_upstream': ['stg_users', 'stg_orders']}) }}
{%- set plan = sbdk.incremental_plan() -%}
{{ sbdk.plan_marker(plan) }}

with

{% if plan.incremental -%}
affected_users as (
    {{ sbdk.users_rewritten_since(ref('sbdk', 'stg_users'), plan) }}
    union
    {{ sbdk.users_rewritten_since(ref('sbdk', 'stg_orders'), plan) }}
),

{% endif -%}
users as (
    select
        user_id,
        created_at,
        country_code,
        referrer_source
    from {{ ref('sbdk', 'stg_users') }}
    where
        data_quality_flag = 'valid'
    {%- if plan.incremental %}
        and user_id in (select user_id from affected_users)
    {%- endif %}
),

orders as (
    select
        user_id,
        order_amount,
        product_category,
        payment_method,
        revenue_type
    from {{ ref('sbdk', 'stg_orders') }}
    where
        data_quality_flag = 'valid'
    {%- if plan.incremental %}
        and user_id in (select user_id from affected_users)
    {%- endif %}
),

user_orders as (
    select
        user_id,
        count(*) as total_orders,
        sum(order_amount) as total_revenue,
        min(order_amount) as min_order_value,
        max(order_amount) as max_order_value,
        {{ sbdk.revenue_by_type_sums() }},
        count(distinct product_category) as unique_product_categories,
        count(distinct payment_method) as unique_payment_methods
    from orders
    group by user_id
),

{# Preferred value: most orders, ties to the larger revenue, then alphabetical. -#}
category_ranks as (
    select
        user_id,
        product_category,
        row_number() over (
            partition by user_id
            order by count(*) desc, sum(order_amount) desc, product_category
        ) as preference_rank
    from orders
    group by user_id, product_category
),

payment_ranks as (
    select
        user_id,
        payment_method,
        row_number() over (
            partition by user_id
            order by count(*) desc, sum(order_amount) desc, payment_method
        ) as preference_rank
    from orders
    group by user_id, payment_method
),

joined as (
    select
        users.user_id,
        users.created_at,
        users.country_code,
        users.referrer_source,
        cast(coalesce(user_orders.total_orders, 0) as {{ dbt.type_bigint() }}) as total_orders,
        cast(coalesce(user_orders.total_revenue, 0) as {{ sbdk.type_money_sum() }}) as total_revenue,
        {{ sbdk.safe_ratio('user_orders.total_revenue', 'user_orders.total_orders') }} as avg_order_value,
        user_orders.min_order_value,
        user_orders.max_order_value,
        cast(coalesce(user_orders.recurring_revenue, 0) as {{ sbdk.type_money_sum() }}) as recurring_revenue,
        cast(coalesce(user_orders.expansion_revenue, 0) as {{ sbdk.type_money_sum() }}) as expansion_revenue,
        cast(coalesce(user_orders.one_time_revenue, 0) as {{ sbdk.type_money_sum() }}) as one_time_revenue,
        cast(
            coalesce(user_orders.unique_product_categories, 0) as {{ dbt.type_bigint() }}
        ) as unique_product_categories,
        cast(coalesce(user_orders.unique_payment_methods, 0) as {{ dbt.type_bigint() }}) as unique_payment_methods,
        category_ranks.product_category as preferred_product_category,
        payment_ranks.payment_method as preferred_payment_method
    from users
    left join user_orders
        on users.user_id = user_orders.user_id
    left join category_ranks
        on
            users.user_id = category_ranks.user_id
            and category_ranks.preference_rank = 1
    left join payment_ranks
        on
            users.user_id = payment_ranks.user_id
            and payment_ranks.preference_rank = 1
),

final as (
    select
        user_id,
        created_at,
        country_code,
        referrer_source,
        total_orders,
        total_revenue,
        avg_order_value,
        min_order_value,
        max_order_value,
        recurring_revenue,
        expansion_revenue,
        one_time_revenue,
        unique_product_categories,
        unique_payment_methods,
        preferred_product_category,
        preferred_payment_method,
        case
            when total_revenue > {{ sbdk.number_var('high_value_customer_threshold') }} then 'high_value'
            when total_revenue > {{ sbdk.number_var('medium_value_customer_threshold') }} then 'medium_value'
            when total_revenue > 0 then 'low_value'
            else 'no_purchases'
        end as customer_value_segment,
        case
            when total_orders = 0 then 'non_buyer'
            when total_orders = 1 then 'one_time_buyer'
            when total_orders <= 5 then 'repeat_buyer'
            else 'loyal_buyer'
        end as buyer_segment,
        {{ sbdk.run_timestamp() }} as dbt_updated_at
    from joined
)

select * from final
