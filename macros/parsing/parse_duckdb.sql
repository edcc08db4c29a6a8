{#- Engine-specific parsing. DuckDB's try_cast to timestamp silently drops a
    UTC offset and accepts hour 24, so text is matched strictly first. -#}

{% macro duckdb__parse_id_text(text) -%}
    case when regexp_full_match({{ text }}, '[+-]?[0-9]+') then try_cast({{ text }} as bigint) end
{%- endmacro %}

{#- A typed integer column (hugeint, ubigint ...) may hold values beyond 64
    bits: those are missing ids, not a failed build. -#}
{% macro duckdb__parse_integer_typed(column) -%}
    try_cast({{ column }} as bigint)
{%- endmacro %}

{% macro duckdb__parse_integral_number(column) -%}
    case
        when isfinite(cast({{ column }} as double))
            and cast({{ column }} as double) = floor(cast({{ column }} as double))
            then try_cast({{ column }} as bigint)
    end
{%- endmacro %}

{% macro duckdb__timestamptz_to_utc(column) -%}
    cast(timezone('UTC', {{ column }}) as timestamp)
{%- endmacro %}

{#- ISO 8601 as the contract reads it: YYYY-MM-DD (year 0001-9999), then
    optionally ' ' or 'T' and HH:MM[:SS[.ffffff]], then optionally Z or +-HH:MM.
    Groups: 1 date, 2 time, 3 offset, 4 its sign, 5 its hours, 6 its minutes. -#}
{% macro _iso_timestamp_pattern() -%}
    {{- return('^((?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2})(?:[ T]((?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.][0-9]{1,6})?)?)(Z|([+-])((?:[01][0-9]|2[0-3])):([0-5][0-9]))?)?$') -}}
{%- endmacro %}

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

{% macro duckdb__parse_amount_text(text) -%}
    case
        when regexp_full_match({{ text }}, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?')
            then try_cast({{ text }} as decimal(38, 18))
    end
{%- endmacro %}
