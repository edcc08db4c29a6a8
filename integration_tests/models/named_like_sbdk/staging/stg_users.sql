-- The consumer's own staging of users: one row per raw row, ids as text.
select
    cast(user_id as {{ dbt.type_string() }}) as user_id,
    cast(country as {{ dbt.type_string() }}) as country
from {{ source('landing', 'raw_users') }}
