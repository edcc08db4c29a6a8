{#- The revenue of orders split by revenue_type (seed sbdk_product_revenue_types):
    the aggregate columns recurring_revenue, expansion_revenue and
    one_time_revenue, each the sum of `amount` over the rows of that type (0
    without such rows). Used by int_user_orders (per user) and product_summary
    (per product category). Not dispatched: the same SQL on every engine. -#}
{% macro revenue_by_type_sums(amount='order_amount', revenue_type='revenue_type') -%}
    {%- for type in ['recurring', 'expansion', 'one_time'] -%}
        sum(case when {{ revenue_type }} = '{{ type }}' then {{ amount }} else 0 end) as {{ type }}_revenue
        {%- if not loop.last %},
        {% endif -%}
    {%- endfor -%}
{%- endmacro %}
