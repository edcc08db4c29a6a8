{#- The valid events of stg_events, one row per event: the rows the metrics
    layer counts (models/semantic/_semantic_models.yml). A view, so it never
    holds rows of its own to keep up to date. -#}
select
    event_id,
    user_id,
    event_type,
    event_category,
    utm_source,
    event_timestamp,
    event_date,
    event_hour,
    day_of_week,
    session_id
from {{ ref('sbdk', 'stg_events') }}
where data_quality_flag = 'valid'
