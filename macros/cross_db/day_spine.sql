{#- One row per day from `first_day` to `last_day` (inclusive) of the one-row
    relation or CTE `bounds`, column `date_day`; no rows when a bound is null or
    `first_day` is after `last_day`. The bounds are data, computed in a CTE of
    the model, so the model reads top to bottom.
    Implementations: postgres__ (lateral generate_series), duckdb__ (range),
    spark__ (sequence, exploded); redshift__ and default__ fail with a message
    naming the macro and the adapter (Redshift has no lateral join and runs
    generate_series on the leader node only). -#}
{% macro day_spine(bounds, first_day='first_day', last_day='last_day') -%}
    {{ return(adapter.dispatch('day_spine', 'sbdk')(bounds, first_day, last_day)) }}
{%- endmacro %}

{% macro default__day_spine(bounds, first_day, last_day) -%}
    {{ sbdk._no_engine_implementation('day_spine') }}
{%- endmacro %}

{% macro redshift__day_spine(bounds, first_day, last_day) -%}
    {{ sbdk._no_engine_implementation('day_spine') }}
{%- endmacro %}

{#- PostgreSQL: a set-returning generate_series per bounds row. -#}
{% macro postgres__day_spine(bounds, first_day, last_day) -%}
    select cast(spine_days.day_start as date) as date_day
    from {{ bounds }}
    cross join lateral generate_series(
        cast({{ bounds }}.{{ first_day }} as timestamp),
        cast({{ bounds }}.{{ last_day }} as timestamp),
        interval '1 day'
    ) as spine_days (day_start)
{%- endmacro %}

{% macro duckdb__day_spine(bounds, first_day, last_day) -%}
    select cast(range as date) as date_day
    from {{ bounds }},
        range(
            cast({{ bounds }}.{{ first_day }} as timestamp),
            cast({{ bounds }}.{{ last_day }} as timestamp) + interval 1 day,
            interval 1 day
        )
{%- endmacro %}

{#- Spark: sequence() exploded; an empty spine (no bounds, or first > last) has
    no rows instead of a descending sequence. -#}
{% macro spark__day_spine(bounds, first_day, last_day) -%}
    select explode(
        case
            when {{ bounds }}.{{ first_day }} <= {{ bounds }}.{{ last_day }}
                then sequence(
                    cast({{ bounds }}.{{ first_day }} as date),
                    cast({{ bounds }}.{{ last_day }} as date),
                    interval 1 day
                )
        end
    ) as date_day
    from {{ bounds }}
{%- endmacro %}
