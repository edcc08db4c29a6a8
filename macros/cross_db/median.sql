{#- Continuous median (interpolated), as a double. -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'sbdk')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    cast(percentile_cont(0.5) within group (order by {{ expression }}) as {{ sbdk.type_double() }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    cast(quantile_cont({{ expression }}, 0.5) as double)
{%- endmacro %}

{% macro spark__median(expression) -%}
    cast(percentile({{ expression }}, 0.5) as double)
{%- endmacro %}
