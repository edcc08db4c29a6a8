-- Every valid user appears once in each per-user model and in exactly one cohort,
-- and the per-user models hold valid users only.
with

valid_users as (
    select user_id
    from {{ ref('sbdk', 'stg_users') }}
    where data_quality_flag = 'valid'
),

reference as (
    select count(*) as users
    from valid_users
),

models as (
    select 'int_user_activity' as model_name, count(*) as users from {{ ref('sbdk', 'int_user_activity') }}
    union all
    select 'int_user_orders' as model_name, count(*) as users from {{ ref('sbdk', 'int_user_orders') }}
    union all
    select 'user_metrics' as model_name, count(*) as users from {{ ref('sbdk', 'user_metrics') }}
    union all
    select 'user_metrics (rows of valid users)' as model_name, count(*) as users
    from {{ ref('sbdk', 'user_metrics') }} as user_metrics
    inner join valid_users
        on user_metrics.user_id = valid_users.user_id
    union all
    select 'cohort_summary' as model_name, sum(cohort_size) as users from {{ ref('sbdk', 'cohort_summary') }}
    union all
    select 'daily_summary' as model_name, sum(new_signups) as users from {{ ref('sbdk', 'daily_summary') }}
    union all
    select 'cohort_retention (month 0)' as model_name, sum(cohort_size) as users
    from {{ ref('sbdk', 'cohort_retention') }}
    where months_since_signup = 0
)

select models.model_name, models.users, reference.users as expected_users
from models
cross join reference
where coalesce(models.users, 0) != reference.users
