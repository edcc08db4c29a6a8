{{ config(severity='warn', tags=['sbdk_source_checks']) }}
-- Describes the raw data, like the source tests, and only warns: one row per raw
-- table and data-quality problem found by staging, with the number of rows it
-- flagged. Staging finds duplicates and unknown users once, in the same pass that
-- flags them, so the 10 M-row raw tables are not scanned again to say so.
select
    source_table,
    data_quality_flag,
    row_count
from {{ ref('sbdk', 'data_quality_summary') }}
where data_quality_flag != 'valid'
