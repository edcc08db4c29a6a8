{#- One row per raw order row, flagged; see _staging__models.yml for the rules. -#}
{%- set raw_relation = source('raw', 'raw_orders') -%}
{%- set types = sbdk.raw_column_types(
    raw_relation, ['order_id', 'user_id', 'amount', 'product_category', 'payment_method', 'created_at']
) -%}

with

source as (
    select * from {{ raw_relation }}
),

valid_users as (
    select
        user_id,
        created_at
    from {{ ref('stg_users') }}
    where data_quality_flag = 'valid'
),

revenue_types as (
    select
        cast(product_category as {{ dbt.type_string() }}) as product_category,
        cast(revenue_type as {{ dbt.type_string() }}) as revenue_type
    from {{ ref('sbdk_product_revenue_types') }}
),

payment_method_groups as (
    select
        cast(payment_method as {{ dbt.type_string() }}) as payment_method,
        cast(payment_method_group as {{ dbt.type_string() }}) as payment_method_group
    from {{ ref('sbdk_payment_method_groups') }}
),

parsed as (
    select
        {{ sbdk.parse_id('order_id', types.get('order_id')) }} as order_id,
        {{ sbdk.parse_id('user_id', types.get('user_id')) }} as user_id,
        round({{ sbdk.parse_amount('amount') }}, 2) as rounded_amount,
        coalesce(lower({{ sbdk.clean_dimension('product_category') }}), 'unknown') as product_category,
        coalesce(lower({{ sbdk.clean_text('payment_method') }}), 'unknown') as payment_method,
        {{ sbdk.parse_timestamp('created_at', types.get('created_at')) }} as ordered_at
    from source
),

amounts as (
    select
        order_id,
        user_id,
        {#- Amounts that do not fit decimal(18,2) cannot be stored: invalid. -#}
        case
            when abs(rounded_amount) < 10000000000000000
                then cast(rounded_amount as {{ sbdk.type_money() }})
        end as order_amount,
        product_category,
        payment_method,
        ordered_at
    from parsed
),

early_flags as (
    select
        *,
        case
            when order_id is null then 'missing_id'
            when user_id is null then 'missing_user_id'
            when ordered_at is null then 'missing_timestamp'
            when order_amount is null or order_amount < {{ sbdk.number_var('min_order_amount') }} then 'invalid_amount'
        end as early_flag
    from amounts
),

id_ranked as (
    select
        *,
        case
            when early_flag is null then row_number() over (
                partition by order_id, early_flag
                order by
                    ordered_at,
                    user_id nulls last,
                    order_amount nulls last,
                    product_category nulls last,
                    payment_method nulls last
            )
        end as id_rank
    from early_flags
),

flagged as (
    select
        id_ranked.order_id,
        id_ranked.user_id,
        id_ranked.order_amount,
        id_ranked.product_category,
        id_ranked.payment_method,
        id_ranked.ordered_at,
        {{ sbdk.activity_row_flag(
            'id_ranked.early_flag', 'id_ranked.id_rank', 'valid_users.user_id',
            'id_ranked.ordered_at', 'valid_users.created_at'
        ) }} as data_quality_flag
    from id_ranked
    left join valid_users
        on id_ranked.user_id = valid_users.user_id
),

final as (
    select
        flagged.order_id,
        flagged.user_id,
        flagged.order_amount,
        flagged.product_category,
        flagged.payment_method,
        flagged.ordered_at,
        cast(flagged.ordered_at as date) as order_date,
        case
            when flagged.order_amount < 50 then 'small'
            when flagged.order_amount <= 200 then 'medium'
            when flagged.order_amount > 200 then 'large'
        end as order_size_category,
        coalesce(payment_method_groups.payment_method_group, 'other') as payment_method_group,
        coalesce(revenue_types.revenue_type, 'one_time') as revenue_type,
        flagged.data_quality_flag,
        {{ sbdk.run_timestamp() }} as dbt_updated_at
    from flagged
    left join revenue_types
        on flagged.product_category = revenue_types.product_category
    left join payment_method_groups
        on flagged.payment_method = payment_method_groups.payment_method
)

select * from final
