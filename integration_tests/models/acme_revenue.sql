-- A model on top of the package: two-argument refs name the package's models.
select
    sum(total_revenue) as revenue,
    count(*) as users
from {{ ref('sbdk', 'user_metrics') }}
