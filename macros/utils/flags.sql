{#- The data-quality flag of an event or order row. stg_events and stg_orders
    share every rule after their own early ones (missing ids, timestamp,
    amount), in the contract's order of precedence: the first match wins. -#}
{% macro activity_row_flag(early_flag, id_rank, valid_user_id, activity_at, user_created_at) -%}
    case
        when {{ early_flag }} is not null then {{ early_flag }}
        when {{ id_rank }} > 1 then 'duplicate_id'
        when {{ valid_user_id }} is null then 'unknown_user'
        when {{ activity_at }} >= {{ sbdk.as_of_end_timestamp() }} then 'future_timestamp'
        when {{ activity_at }} < {{ user_created_at }} then 'before_signup'
        else 'valid'
    end
{%- endmacro %}
