{#- Every raw row, counted by the flag staging gave it: for each raw table the
    counts add up to its row count. -#}
{#- Incremental (see docs/incremental.md): replaced as a whole when the as_of_date
    moved or a model it reads changed since its last build; else left as it is. -#}
{{ config(meta={'sbdk_unit': 'all', 'sbdk_upstream': ['stg_events', 'stg_orders', 'stg_users']}) }}
{%- set plan = sbdk.whole_table_plan() -%}
{{ sbdk.plan_marker(plan) }}

with

flags as (
    select 'raw_users' as source_table, data_quality_flag from {{ ref('sbdk', 'stg_users') }}
    union all
    select 'raw_events' as source_table, data_quality_flag from {{ ref('sbdk', 'stg_events') }}
    union all
    select 'raw_orders' as source_table, data_quality_flag from {{ ref('sbdk', 'stg_orders') }}
),

final as (
    select
        cast(source_table as {{ dbt.type_string() }}) as source_table,
        cast(data_quality_flag as {{ dbt.type_string() }}) as data_quality_flag,
        cast(count(*) as {{ dbt.type_bigint() }}) as row_count
    from flags
    group by source_table, data_quality_flag
)

select * from final
{%- if plan.unchanged %}
where 1 = 0
{%- endif %}
