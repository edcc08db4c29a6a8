-- The consumer's own daily_summary, in its default schema: the package's lands in
-- <schema>_sbdk, so the two never share a relation.
select count(*) as raw_events
from {{ ref('stg_events') }}
