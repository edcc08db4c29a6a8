{#- Day of week, 0 = Sunday ... 6 = Saturday. -#}
{% macro day_of_week(ts) -%}
    {{ return(adapter.dispatch('day_of_week', 'sbdk')(ts)) }}
{%- endmacro %}

{% macro default__day_of_week(ts) -%}
    cast(extract(dow from {{ ts }}) as integer)
{%- endmacro %}

{% macro duckdb__day_of_week(ts) -%}
    cast(dayofweek({{ ts }}) as integer)
{%- endmacro %}

{% macro spark__day_of_week(ts) -%}
    (dayofweek({{ ts }}) - 1)
{%- endmacro %}
