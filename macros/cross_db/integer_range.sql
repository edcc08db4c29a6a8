{#- One row per integer from 0 to the column `upper` (inclusive) of the one-row
    relation or CTE `bounds`, column `n`; no rows when it is null or negative.
    The bound is data, computed in a CTE of the model.
    Implementations: postgres__ (lateral generate_series), duckdb__ (range),
    spark__ (sequence, exploded); redshift__ and default__ fail with a message
    naming the macro and the adapter (as for day_spine). -#}
{% macro integer_range(bounds, upper='upper_n') -%}
    {{ return(adapter.dispatch('integer_range', 'sbdk')(bounds, upper)) }}
{%- endmacro %}

{% macro default__integer_range(bounds, upper) -%}
    {{ sbdk._no_engine_implementation('integer_range') }}
{%- endmacro %}

{% macro redshift__integer_range(bounds, upper) -%}
    {{ sbdk._no_engine_implementation('integer_range') }}
{%- endmacro %}

{#- PostgreSQL: a set-returning generate_series per bounds row. -#}
{% macro postgres__integer_range(bounds, upper) -%}
    select cast(range_numbers.n as {{ dbt.type_bigint() }}) as n
    from {{ bounds }}
    cross join lateral generate_series(0, cast({{ bounds }}.{{ upper }} as {{ dbt.type_bigint() }})) as range_numbers (n)
{%- endmacro %}

{% macro duckdb__integer_range(bounds, upper) -%}
    select range as n
    from {{ bounds }}, range(0, cast({{ bounds }}.{{ upper }} as bigint) + 1)
{%- endmacro %}

{#- Spark: no rows when the bound is negative (sequence(0, -1) would count down). -#}
{% macro spark__integer_range(bounds, upper) -%}
    select explode(
        case
            when {{ bounds }}.{{ upper }} >= 0
                then sequence(cast(0 as bigint), cast({{ bounds }}.{{ upper }} as bigint))
        end
    ) as n
    from {{ bounds }}
{%- endmacro %}
