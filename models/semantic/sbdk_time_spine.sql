{#- MetricFlow's time spine for the package's metrics: one row per day from var
    sbdk_time_spine_start to var sbdk_time_spine_end (inclusive; unset: as_of_date,
    the last day the models count). A cumulative metric has a row on each day of
    the spine from the first with data. -#}
{%- set spine_end = var('sbdk_time_spine_end', none) -%}
{%- set last_day = sbdk.as_of_date_string() if spine_end is none or (spine_end | string | trim) == ''
    else sbdk.date_var('sbdk_time_spine_end') -%}

with

spine_bounds as (  -- noqa: ST03
    select
        cast('{{ sbdk.date_var("sbdk_time_spine_start") }}' as date) as first_day,
        cast('{{ last_day }}' as date) as last_day
),

spine as (
    {{ sbdk.day_spine('spine_bounds') }}
)

select cast(date_day as date) as date_day
from spine
