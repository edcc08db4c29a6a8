{#- Cross-database helpers that dbt itself does not provide. Each has an
    ANSI/PostgreSQL default and engine-specific implementations. -#}

{#- Exact seconds from `start` to `end` (a double, microseconds kept).
    dbt.datediff counts unit boundaries, which is wrong for durations. -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'sbdk')(start, end)) }}
{%- endmacro %}

{% macro default__seconds_between(start, end) -%}
    extract(epoch from ({{ end }} - {{ start }}))
{%- endmacro %}

{% macro duckdb__seconds_between(start, end) -%}
    ((epoch_us({{ end }}) - epoch_us({{ start }})) / 1000000.0)
{%- endmacro %}

{% macro spark__seconds_between(start, end) -%}
    ((unix_micros({{ end }}) - unix_micros({{ start }})) / 1000000.0)
{%- endmacro %}


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


{#- A ratio as a double that is 0 (never null or an error) when the
    denominator is 0 or null. -#}
{% macro safe_ratio(numerator, denominator, scale=1) -%}
    coalesce(
        cast({{ numerator }} as {{ sbdk.type_double() }}) * {{ scale }}
        / nullif(cast({{ denominator }} as {{ sbdk.type_double() }}), 0),
        0
    )
{%- endmacro %}


{#- One row per day from `start_date` to `end_date` (inclusive), column
    `date_day`. The bounds are SQL expressions (e.g. scalar subqueries). -#}
{% macro day_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('day_spine', 'sbdk')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__day_spine(start_date, end_date) -%}
    select cast(range as date) as date_day
    from range(
        cast({{ start_date }} as timestamp),
        cast({{ end_date }} as timestamp) + interval 1 day,
        interval 1 day
    )
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


{#- One row per integer from 0 to `upper_expression` (inclusive), column `n`. -#}
{% macro integer_range(upper_expression) -%}
    {{ return(adapter.dispatch('integer_range', 'sbdk')(upper_expression)) }}
{%- endmacro %}

{% macro duckdb__integer_range(upper_expression) -%}
    select range as n from range(0, cast(({{ upper_expression }}) as bigint) + 1)
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


{#- The text after the last occurrence of a one-character `separator`
    ('' when it is the last character). -#}
{% macro text_after_last(text, separator) -%}
    {{ return(adapter.dispatch('text_after_last', 'sbdk')(text, separator)) }}
{%- endmacro %}

{% macro default__text_after_last(text, separator) -%}
    {{ dbt.right(text, dbt.position(separator, 'reverse(' ~ text ~ ')') ~ ' - 1') }}
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


{#- Whether a column of a relation (from adapter.get_columns_in_relation) holds
    text. Column.is_string() knows only the names of the ANSI family (varchar,
    text, character varying ...), not Spark's `string`. -#}
{% macro is_text_column(column) -%}
    {{ return(adapter.dispatch('is_text_column', 'sbdk')(column)) }}
{%- endmacro %}

{% macro default__is_text_column(column) -%}
    {{ return(column.is_string()) }}
{%- endmacro %}

{% macro spark__is_text_column(column) -%}
    {%- set dtype = (column.dtype or '') | lower -%}
    {{ return(column.is_string() or dtype == 'string' or dtype.startswith('varchar') or dtype.startswith('char')) }}
{%- endmacro %}
