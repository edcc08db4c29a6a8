{#- The valid orders of stg_orders, one row per order: the rows the metrics
    layer counts (models/semantic/_semantic_models.yml). A view, so it never
    holds rows of its own to keep up to date. -#}
select
    order_id,
    user_id,
    order_amount,
    product_category,
    payment_method,
    payment_method_group,
    revenue_type,
    order_size_category,
    ordered_at,
    order_date
from {{ ref('sbdk', 'stg_orders') }}
where data_quality_flag = 'valid'
