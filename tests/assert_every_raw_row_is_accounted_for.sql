-- Every raw row is in data_quality_summary: per raw table, the flag counts
-- add up to the raw row count (and staging has exactly one row per raw row).
with

raw_counts as (
    select 'raw_users' as source_table, count(*) as raw_rows from {{ source('raw', 'raw_users') }}
    union all
    select 'raw_events' as source_table, count(*) as raw_rows from {{ source('raw', 'raw_events') }}
    union all
    select 'raw_orders' as source_table, count(*) as raw_rows from {{ source('raw', 'raw_orders') }}
),

staging_counts as (
    select 'raw_users' as source_table, count(*) as staging_rows from {{ ref('sbdk', 'stg_users') }}
    union all
    select 'raw_events' as source_table, count(*) as staging_rows from {{ ref('sbdk', 'stg_events') }}
    union all
    select 'raw_orders' as source_table, count(*) as staging_rows from {{ ref('sbdk', 'stg_orders') }}
),

summary_counts as (
    select source_table, sum(row_count) as summarized_rows
    from {{ ref('sbdk', 'data_quality_summary') }}
    group by source_table
)

select
    raw_counts.source_table,
    raw_counts.raw_rows,
    staging_counts.staging_rows,
    coalesce(summary_counts.summarized_rows, 0) as summarized_rows
from raw_counts
inner join staging_counts
    on raw_counts.source_table = staging_counts.source_table
left join summary_counts
    on raw_counts.source_table = summary_counts.source_table
where
    raw_counts.raw_rows != staging_counts.staging_rows
    or raw_counts.raw_rows != coalesce(summary_counts.summarized_rows, 0)
