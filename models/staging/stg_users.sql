{#- One row per raw user row, flagged; see _staging__models.yml for the rules.
    Incremental (see docs/incremental.md): a build reads the raw rows loaded
    since the last one and rewrites every row of the users they change. -#}
{{ config(
    meta={'sbdk_raw': 'raw_users', 'sbdk_unit': 'user_id'},
    pre_hook=sbdk.snapshot_hooks().pre, post_hook=sbdk.snapshot_hooks().post
) }}
{%- set raw_relation = source('raw', 'raw_users') -%}
{%- set types = sbdk.raw_column_types(
    raw_relation, ['user_id', 'email', 'name', 'country', 'referrer', 'created_at']
) -%}
{%- set plan = sbdk.incremental_plan(raw_relation) -%}
{{ sbdk.plan_marker(plan) }}

with

source as (
    select * from {{ raw_relation }}
    {%- if plan.incremental %}
    where {{ sbdk.loaded_after_watermark(plan) }}
    {%- endif %}
),

parsed as (
    select
        {{ sbdk.parse_id('user_id', types.get('user_id')) }} as user_id,
        lower({{ sbdk.clean_text('email') }}) as email_normalized,
        {{ sbdk.parse_timestamp('created_at', types.get('created_at')) }} as created_at,
        upper({{ sbdk.clean_dimension('country') }}) as country_code,
        lower({{ sbdk.clean_dimension('referrer') }}) as referrer_source
    from source
),

arrived as (
    select
        user_id,
        case when email_normalized is not null then {{ dbt.hash('email_normalized') }} end as email_hash,
        case
            when {{ dbt.position("'@'", 'email_normalized') }} > 0
                then nullif({{ sbdk.text_after_last('email_normalized', "'@'") }}, '')
        end as email_domain,
        created_at,
        country_code,
        referrer_source
    from parsed
),

{% if plan.incremental %}
{#- The users whose rows can change: those with arrived rows or with a row in
    the as_of band, and every user whose kept row shares an email with any of
    their rows (old or new). -#}
changed_ids as (
    select user_id from arrived where user_id is not null
    union
    select user_id from {{ this }} where user_id is not null and {{ sbdk.as_of_band('created_at', plan) }}
),

changed_emails as (
    select email_hash from arrived where email_hash is not null
    union
    select email_hash from {{ this }}
    where email_hash is not null and user_id in (select user_id from changed_ids)
),

affected_users as (
    select user_id from changed_ids
    union
    select user_id from {{ this }}
    where
        data_quality_flag in ('valid', 'duplicate_email')
        and email_hash in (select email_hash from changed_emails)
),
{% endif %}

rows_in as (
    {%- if plan.incremental %}
    select user_id, email_hash, email_domain, created_at, country_code, referrer_source
    from {{ this }}
    where user_id in (select user_id from affected_users)
    union all
    {%- endif %}
    select user_id, email_hash, email_domain, created_at, country_code, referrer_source
    from arrived
),

early_flags as (
    select
        *,
        case
            when user_id is null then 'missing_id'
            when created_at is null then 'missing_created_at'
            when created_at >= {{ sbdk.as_of_end_timestamp() }} then 'future_timestamp'
        end as early_flag
    from rows_in
),

id_ranked as (
    select
        *,
        case
            when early_flag is null then row_number() over (
                partition by user_id, early_flag
                order by
                    created_at,
                    email_hash nulls last,
                    country_code nulls last,
                    referrer_source nulls last
            )
        end as id_rank
    from early_flags
),

email_ranked as (
    select
        *,
        case
            when early_flag is null and id_rank = 1 and email_hash is not null
                then row_number() over (
                    partition by
                        email_hash,
                        (early_flag is null and id_rank = 1)
                    order by created_at, user_id
                )
        end as email_rank
    from id_ranked
),

flagged as (
    select
        *,
        case
            when early_flag is not null then early_flag
            when id_rank > 1 then 'duplicate_id'
            when email_rank > 1 then 'duplicate_email'
            else 'valid'
        end as data_quality_flag
    from email_ranked
),

final as (
    select
        user_id,
        email_hash,
        email_domain,
        created_at,
        country_code,
        referrer_source,
        cast(created_at as date) as signup_date,
        cast(extract(year from created_at) as integer) as signup_year,
        cast(extract(month from created_at) as integer) as signup_month,
        data_quality_flag,
        {{ sbdk.run_timestamp() }} as dbt_updated_at
    from flagged
)

select * from final
