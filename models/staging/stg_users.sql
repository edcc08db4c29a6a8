{#- One row per raw user row, flagged; see _staging__models.yml for the rules. -#}
{%- set raw_relation = source('raw', 'raw_users') -%}
{%- set types = sbdk.raw_column_types(
    raw_relation, ['user_id', 'email', 'name', 'country', 'referrer', 'created_at']
) -%}

with

source as (
    select * from {{ raw_relation }}
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

hashed as (
    select
        user_id,
        email_normalized,
        case when email_normalized is not null then {{ dbt.hash('email_normalized') }} end as email_hash,
        created_at,
        country_code,
        referrer_source
    from parsed
),

early_flags as (
    select
        *,
        case
            when user_id is null then 'missing_id'
            when created_at is null then 'missing_created_at'
            when created_at >= {{ sbdk.as_of_end_timestamp() }} then 'future_timestamp'
        end as early_flag
    from hashed
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
            when early_flag is null and id_rank = 1 and email_normalized is not null
                then row_number() over (
                    partition by
                        email_normalized,
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
        case
            when {{ dbt.position("'@'", 'email_normalized') }} > 0
                then nullif({{ sbdk.text_after_last('email_normalized', "'@'") }}, '')
        end as email_domain,
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
