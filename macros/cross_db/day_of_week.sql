{#- Day of week, 0 = Sunday ... 6 = Saturday.
    Implementations: postgres__ (extract(dow); also Redshift's, through dbt's
    fallback from redshift__ to postgres__), duckdb__ (dayofweek), spark__
    (dayofweek, which counts from 1); default__ fails with a message naming the
    macro and the adapter (no portable SQL). -#}
{% macro day_of_week(ts) -%}
    {{ return(adapter.dispatch('day_of_week', 'sbdk')(ts)) }}
{%- endmacro %}

{% macro default__day_of_week(ts) -%}
    {{ sbdk._no_engine_implementation('day_of_week') }}
{%- endmacro %}

{% macro postgres__day_of_week(ts) -%}
    cast(extract(dow from {{ ts }}) as integer)
{%- endmacro %}

{% macro duckdb__day_of_week(ts) -%}
    cast(dayofweek({{ ts }}) as integer)
{%- endmacro %}

{% macro spark__day_of_week(ts) -%}
    (dayofweek({{ ts }}) - 1)
{%- endmacro %}
