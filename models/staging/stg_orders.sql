{#- One row per raw order row, flagged; see _staging__models.yml for the rules.
    Incremental like stg_events (see docs/incremental.md). -#}
{{ config(
    meta={'sbdk_raw': 'raw_orders', 'sbdk_unit': 'user_id'},
    pre_hook=sbdk.snapshot_hooks().pre, post_hook=sbdk.snapshot_hooks().post
) }}
{%- set raw_relation = source('raw', 'raw_orders') -%}
{%- set types = sbdk.raw_column_types(
    raw_relation, ['order_id', 'user_id', 'amount', 'product_category', 'payment_method', 'created_at']
) -%}
{%- set plan = sbdk.incremental_plan(raw_relation) -%}
{{ sbdk.plan_marker(plan) }}
{%- set early_flags = "('missing_id', 'missing_user_id', 'missing_timestamp', 'invalid_amount')" -%}

with

source as (
    select * from {{ raw_relation }}
    {%- if plan.incremental %}
    where {{ sbdk.loaded_after_watermark(plan) }}
    {%- endif %}
),

valid_users as (
    select
        user_id,
        created_at
    from {{ ref('sbdk', 'stg_users') }}
    where data_quality_flag = 'valid'
),

revenue_types as (
    select
        cast(product_category as {{ dbt.type_string() }}) as product_category,
        cast(revenue_type as {{ dbt.type_string() }}) as revenue_type
    from {{ ref('sbdk', 'sbdk_product_revenue_types') }}
),

payment_method_groups as (
    select
        cast(payment_method as {{ dbt.type_string() }}) as payment_method,
        cast(payment_method_group as {{ dbt.type_string() }}) as payment_method_group
    from {{ ref('sbdk', 'sbdk_payment_method_groups') }}
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

arrived as (
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

{% if plan.incremental %}
affected_users as (
    select user_id from arrived where user_id is not null
    union
    {{ sbdk.users_rewritten_since(ref('sbdk', 'stg_users'), plan) }}
    union
    select user_id from {{ this }}
    where
        user_id is not null
        and data_quality_flag not in {{ early_flags }}
        and order_id in (select order_id from arrived where early_flag is null)
    union
    select user_id from {{ this }}
    where user_id is not null and {{ sbdk.as_of_band('ordered_at', plan) }}
),

rewritten as (
    select
        order_id,
        user_id,
        order_amount,
        product_category,
        payment_method,
        ordered_at,
        case when data_quality_flag in {{ early_flags }} then data_quality_flag end as early_flag
    from {{ this }}
    where user_id in (select user_id from affected_users)
    union all
    select order_id, user_id, order_amount, product_category, payment_method, ordered_at, early_flag
    from arrived
),

{#- The rewritten ids other users may hold a copy of. Every copy of an id
    but its kept one is a duplicate_id row, so an id held twice before this
    build has a duplicate_id row; a copy new in this build arrived in it. #}
copied_ids as (
    select order_id from rewritten
    where
        early_flag is null
        and (
            order_id in (select order_id from arrived)
            or order_id in (select order_id from {{ this }} where data_quality_flag = 'duplicate_id')
        )
),

{% endif %}

rows_in as (
    select *, 0 as is_other_copy from {{ 'rewritten' if plan.incremental else 'arrived' }}
    {%- if plan.incremental %}
    {#- Other users' copies of the rewritten ids: read for the ranking only. #}
    union all
    select
        order_id, user_id, order_amount, product_category, payment_method, ordered_at,
        cast(null as {{ dbt.type_string() }}), 1
    from {{ this }}
    where
        data_quality_flag not in {{ early_flags }}
        and user_id not in (select user_id from affected_users)
        and order_id in (select order_id from copied_ids)
    {%- endif %}
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
    from rows_in
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
    where id_ranked.is_other_copy = 0
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
