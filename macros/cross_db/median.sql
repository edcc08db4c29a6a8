{#- Continuous median (interpolated), as a double.
    Implementations: postgres__ (percentile_cont ... within group; also
    Redshift's, through dbt's fallback from redshift__ to postgres__),
    duckdb__ (quantile_cont), spark__ (percentile); default__ fails with a
    message naming the macro and the adapter (no SQL every engine reads). -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'sbdk')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    {{ sbdk._no_engine_implementation('median') }}
{%- endmacro %}

{% macro postgres__median(expression) -%}
    cast(percentile_cont(0.5) within group (order by {{ expression }}) as {{ sbdk.type_double() }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    cast(quantile_cont({{ expression }}, 0.5) as double)
{%- endmacro %}

{% macro spark__median(expression) -%}
    cast(percentile({{ expression }}, 0.5) as double)
{%- endmacro %}
