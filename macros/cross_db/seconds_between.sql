{#- Exact seconds from `start` to `end` (a double, microseconds kept).
    dbt.datediff counts unit boundaries, which is wrong for durations.
    Implementations: postgres__ (extract(epoch) of the interval), duckdb__
    (epoch_us), spark__ (unix_micros); redshift__ and default__ fail with a
    message naming the macro and the adapter (Redshift's extract of an
    interval is an integer: the microseconds would be lost). -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'sbdk')(start, end)) }}
{%- endmacro %}

{% macro default__seconds_between(start, end) -%}
    {{ sbdk._no_engine_implementation('seconds_between') }}
{%- endmacro %}

{% macro redshift__seconds_between(start, end) -%}
    {{ sbdk._no_engine_implementation('seconds_between') }}
{%- endmacro %}

{% macro postgres__seconds_between(start, end) -%}
    extract(epoch from ({{ end }} - {{ start }}))
{%- endmacro %}

{% macro duckdb__seconds_between(start, end) -%}
    ((epoch_us({{ end }}) - epoch_us({{ start }})) / 1000000.0)
{%- endmacro %}

{% macro spark__seconds_between(start, end) -%}
    ((unix_micros({{ end }}) - unix_micros({{ start }})) / 1000000.0)
{%- endmacro %}
