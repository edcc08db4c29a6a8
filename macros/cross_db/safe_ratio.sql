{#- A ratio as a double that is 0 (never null or an error) when the
    denominator is 0 or null. The same SQL on every engine (not dispatched);
    the double type is sbdk.type_double() (types.sql). -#}
{% macro safe_ratio(numerator, denominator, scale=1) -%}
    coalesce(
        cast({{ numerator }} as {{ sbdk.type_double() }}) * {{ scale }}
        / nullif(cast({{ denominator }} as {{ sbdk.type_double() }}), 0),
        0
    )
{%- endmacro %}
