{#- ANSI-style / PostgreSQL parsing, the fallback for other engines.
    Engines without `~` regex matching override these with their own
    `<adapter>__` implementation. -#}

{% macro default__parse_id_text(text) -%}
    case
        when {{ text }} ~ '^[+-]?[0-9]{1,19}$'
            and cast({{ text }} as numeric) between -9223372036854775808 and 9223372036854775807
            then cast({{ text }} as {{ dbt.type_bigint() }})
    end
{%- endmacro %}

{% macro default__parse_integral_number(column) -%}
    case
        when cast({{ column }} as numeric) = floor(cast({{ column }} as numeric))
            and cast({{ column }} as numeric) between -9223372036854775808 and 9223372036854775807
            then cast({{ column }} as {{ dbt.type_bigint() }})
    end
{%- endmacro %}

{% macro default__timestamptz_to_utc(column) -%}
    cast(({{ column }} at time zone 'UTC') as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro default__parse_timestamp_text(text) -%}
    {#- Matched strictly, then cast; the calendar check is the engine's. -#}
    {%- set p = sbdk._iso_timestamp_pattern() -%}
    case when {{ text }} ~ '{{ p }}' then
        cast(
            substring({{ text }} from 1 for 10) || ' '
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
{%- endmacro %}

{% macro default__parse_amount_text(text) -%}
    case
        when {{ text }} ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$'
            and length({{ text }}) <= 40
            then cast(cast({{ text }} as double precision) as decimal(38, 18))
    end
{%- endmacro %}
