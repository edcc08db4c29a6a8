{#- Timestamps: parse_timestamp and every engine's version of the rules it
    dispatches to (a typed timestamp with time zone, ISO 8601 text), each rule
    in order default__, postgres__, redshift__, duckdb__, spark__:
    - timestamptz_to_utc: default__ (portable: the standard's AT TIME ZONE;
      PostgreSQL's), duckdb__ (timezone()), spark__ (a plain cast).
    - parse_timestamp_text: postgres__ (`~` matching, substring of a regular
      expression), duckdb__, spark__; default__ fails with a message naming
      the rule and the adapter, and so does redshift__ (no substring of a
      regular expression).
    What every Spark version relies on is explained with _spark_full_match in
    raw_columns.sql. -#}

{#- A timestamp in UTC: ISO 8601 text, or a typed date/timestamp. -#}
{% macro parse_timestamp(column, dtype) -%}
    {%- set kind = sbdk._type_kind(dtype) -%}
    {%- if kind in ['timestamp', 'date'] -%}
        cast({{ column }} as {{ dbt.type_timestamp() }})
    {%- elif kind == 'timestamptz' -%}
        {{ adapter.dispatch('timestamptz_to_utc', 'sbdk')(column) }}
    {%- else -%}
        {{ adapter.dispatch('parse_timestamp_text', 'sbdk')(sbdk.clean_text(column)) }}
    {%- endif -%}
{%- endmacro %}


{#- timestamptz_to_utc: a typed timestamp with time zone, as a UTC timestamp. -#}

{% macro default__timestamptz_to_utc(column) -%}
    cast(({{ column }} at time zone 'UTC') as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__timestamptz_to_utc(column) -%}
    cast(timezone('UTC', {{ column }}) as timestamp)
{%- endmacro %}

{#- Spark has no timestamp with time zone type: a typed timestamp is an
    instant, shown in the session time zone (which must be UTC, as for every
    date and hour the models derive). -#}
{% macro spark__timestamptz_to_utc(column) -%}
    cast({{ column }} as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- parse_timestamp_text: ISO 8601 text (already trimmed), matched strictly
    with _iso_timestamp_pattern on every engine. -#}

{#- ISO 8601 as the contract reads it: YYYY-MM-DD (year 0001-9999), then
    optionally ' ' or 'T' and HH:MM[:SS[.ffffff]], then optionally Z or +-HH:MM.
    Groups: 1 date, 2 time, 3 offset, 4 its sign, 5 its hours, 6 its minutes. -#}
{% macro _iso_timestamp_pattern() -%}
    {{- return('^((?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2})(?:[ T]((?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.][0-9]{1,6})?)?)(Z|([+-])((?:[01][0-9]|2[0-3])):([0-5][0-9]))?)?$') -}}
{%- endmacro %}

{% macro default__parse_timestamp_text(text) -%}
    {{ sbdk._no_engine_implementation('parse_timestamp_text') }}
{%- endmacro %}

{% macro redshift__parse_timestamp_text(text) -%}
    {{ sbdk._no_engine_implementation('parse_timestamp_text') }}
{%- endmacro %}

{% macro postgres__parse_timestamp_text(text) -%}
    {#- Matched strictly (years 0001-9999), then the calendar is checked here (a
        cast of text such as 2025-02-30 is an error, not a null, on PostgreSQL),
        then cast. Nested CASEs keep every cast behind its check. -#}
    {%- set p = sbdk._iso_timestamp_pattern() -%}
    {%- set y = 'cast(substring(' ~ text ~ ' from 1 for 4) as integer)' -%}
    {%- set m = 'cast(substring(' ~ text ~ ' from 6 for 2) as integer)' -%}
    {%- set d = 'cast(substring(' ~ text ~ ' from 9 for 2) as integer)' -%}
    case when {{ text }} ~ '{{ p }}' then
        case when {{ m }} between 1 and 12
            and {{ d }} between 1 and (
                case
                    when {{ m }} = 2 then
                        case when (mod({{ y }}, 4) = 0 and mod({{ y }}, 100) <> 0) or mod({{ y }}, 400) = 0
                            then 29 else 28 end
                    when {{ m }} in (4, 6, 9, 11) then 30
                    else 31
                end
            )
        then
            cast(
                substring({{ text }} from 1 for 10)
                || ' '
                || coalesce(substring({{ text }} from '^.{10}[ T]([0-9:.]+)'), '00:00:00')
                as {{ dbt.type_timestamp() }}
            )
            - (
                case when {{ text }} ~ '[+-][0-9]{2}:[0-9]{2}$' then
                    (case when substring({{ text }} from '([+-])[0-9]{2}:[0-9]{2}$') = '-' then -1 else 1 end)
                    * (cast(substring({{ text }} from '([0-9]{2}):[0-9]{2}$') as integer) * 60
                       + cast(substring({{ text }} from '[0-9]{2}:([0-9]{2})$') as integer))
                else 0 end
            ) * interval '1 minute'
        end
    end
{%- endmacro %}

{#- DuckDB's try_cast to timestamp silently drops a UTC offset and accepts
    hour 24, so text is matched strictly first. -#}
{% macro duckdb__parse_timestamp_text(text) -%}
    {%- set p = sbdk._iso_timestamp_pattern() -%}
    case when regexp_matches({{ text }}, '{{ p }}') then
        try_cast(
            regexp_extract({{ text }}, '{{ p }}', 1) || ' '
            || coalesce(nullif(regexp_extract({{ text }}, '{{ p }}', 2), ''), '00:00:00')
            as timestamp
        )
        - to_minutes(
            case regexp_extract({{ text }}, '{{ p }}', 4)
                when '+' then 1
                when '-' then -1
                else 0
            end
            * (
                coalesce(try_cast(nullif(regexp_extract({{ text }}, '{{ p }}', 5), '') as bigint), 0) * 60
                + coalesce(try_cast(nullif(regexp_extract({{ text }}, '{{ p }}', 6), '') as bigint), 0)
            )
        )
    end
{%- endmacro %}

{#- Spark: matched strictly with _iso_timestamp_pattern (years 0001-9999,
    hours 00-23, seconds 00-59, at most 6 fractional digits, offset Z or
    +-HH:MM). The matched date and time are then read as UTC by try_cast of
    'YYYY-MM-DDTHH:MM:SS[.ffffff]Z' (seconds added when absent), which is null
    for a day the calendar does not have (2025-02-30, 1900-02-29), and the
    offset is subtracted in microseconds. A result before 0001-01-01 or from
    10000-01-01 on (e.g. '0001-01-01T00:00+01:00') is missing: Spark cannot
    read or show such a timestamp. Neither step depends on the session time
    zone. -#}
{% macro spark__parse_timestamp_text(text) -%}
    {%- set p = sbdk._iso_timestamp_pattern() -%}
    {%- set time_part = "regexp_extract(" ~ text ~ ", '" ~ p ~ "', 2)" -%}
    {%- set offset_minutes -%}
        (case regexp_extract({{ text }}, '{{ p }}', 4) when '+' then 1 when '-' then -1 else 0 end
            * coalesce(
                try_cast(nullif(regexp_extract({{ text }}, '{{ p }}', 5), '') as bigint) * 60
                + try_cast(nullif(regexp_extract({{ text }}, '{{ p }}', 6), '') as bigint),
                0
            ))
    {%- endset -%}
    {%- set local_micros -%}
        unix_micros(try_cast(
            concat(
                regexp_extract({{ text }}, '{{ p }}', 1),
                'T',
                case
                    when {{ time_part }} = '' then '00:00:00'
                    when length({{ time_part }}) = 5 then concat({{ time_part }}, ':00')
                    else {{ time_part }}
                end,
                'Z'
            ) as timestamp
        ))
    {%- endset -%}
    case when {{ sbdk._spark_full_match(text, p) }} then
        case
            when {{ local_micros }} - {{ offset_minutes }} * 60000000
                between -62135596800000000 and 253402300799999999
                then timestamp_micros({{ local_micros }} - {{ offset_minutes }} * 60000000)
        end
    end
{%- endmacro %}
