{#- One row per day from `start_date` to `end_date` (inclusive), column
    `date_day`. The bounds are SQL expressions (e.g. scalar subqueries). -#}
{% macro day_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('day_spine', 'sbdk')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__day_spine(start_date, end_date) -%}
    {#- Portable: numbers from a cross join of powers of two (dbt.generate_series),
        sized at run time from the actual bounds. -#}
    {%- set days = 1 -%}
    {%- if execute -%}
        {%- set result = run_query('select ' ~ dbt.datediff(start_date, end_date, 'day')) -%}
        {%- set value = result.columns[0].values()[0] if result and result.rows | length > 0 else none -%}
        {%- set days = ((value or 0) | int) + 1 -%}
    {%- endif -%}
    select cast({{ dbt.dateadd('day', 'generated_number - 1', start_date) }} as date) as date_day
    from ({{ dbt.generate_series(days if days > 0 else 1) }}) as series
    where {{ start_date }} is not null
        and generated_number <= {{ days }}
{%- endmacro %}

{% macro duckdb__day_spine(start_date, end_date) -%}
    select cast(range as date) as date_day
    from range(
        cast({{ start_date }} as timestamp),
        cast({{ end_date }} as timestamp) + interval 1 day,
        interval 1 day
    )
{%- endmacro %}

{#- Spark: sequence() exploded, bounds computed once; an empty spine (no bounds,
    or first > last) has no rows instead of a descending sequence. -#}
{% macro spark__day_spine(start_date, end_date) -%}
    select explode(
        case
            when spine_bounds.first_day <= spine_bounds.last_day
                then sequence(spine_bounds.first_day, spine_bounds.last_day, interval 1 day)
        end
    ) as date_day
    from (
        select
            cast({{ start_date }} as date) as first_day,
            cast({{ end_date }} as date) as last_day
    ) as spine_bounds
{%- endmacro %}
