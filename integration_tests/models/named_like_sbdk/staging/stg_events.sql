-- The consumer's own staging of events: one row per raw row, ids as text.
select
    cast(event_id as {{ dbt.type_string() }}) as event_id,
    cast(user_id as {{ dbt.type_string() }}) as user_id,
    cast(event_type as {{ dbt.type_string() }}) as event_type
from {{ source('landing', 'raw_events') }}
