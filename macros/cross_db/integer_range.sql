{#- One row per integer from 0 to `upper_expression` (inclusive), column `n`. -#}
{% macro integer_range(upper_expression) -%}
    {{ return(adapter.dispatch('integer_range', 'sbdk')(upper_expression)) }}
{%- endmacro %}

{% macro default__integer_range(upper_expression) -%}
    {%- set upper = 0 -%}
    {%- if execute -%}
        {%- set result = run_query('select ' ~ upper_expression) -%}
        {%- set value = result.columns[0].values()[0] if result and result.rows | length > 0 else none -%}
        {%- set upper = (value or 0) | int -%}
    {%- endif -%}
    select generated_number - 1 as n
    from ({{ dbt.generate_series(upper + 1 if upper >= 0 else 1) }}) as series
    where generated_number - 1 <= {{ upper }}
{%- endmacro %}

{% macro duckdb__integer_range(upper_expression) -%}
    select range as n from range(0, cast(({{ upper_expression }}) as bigint) + 1)
{%- endmacro %}

{#- Spark: no rows when the upper bound is negative (sequence(0, -1) would
    count down). -#}
{% macro spark__integer_range(upper_expression) -%}
    select explode(
        case
            when range_bounds.upper_n >= 0
                then sequence(cast(0 as bigint), range_bounds.upper_n)
        end
    ) as n
    from (
        select cast(({{ upper_expression }}) as bigint) as upper_n
    ) as range_bounds
{%- endmacro %}
