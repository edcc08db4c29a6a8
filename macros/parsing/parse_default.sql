{#- ANSI-style / PostgreSQL parsing, the fallback for other engines.
    Engines without `~` regex matching override these with their own
    `<adapter>__` implementation. -#}

{% macro default__parse_id_text(text) -%}
    {#- Nested CASEs, not AND: the engine may evaluate the operands of AND in
        any order, and the cast fails on text the pattern rejects. Any number
        of digits (leading zeros included), as long as the value fits 64 bits. -#}
    case when {{ text }} ~ '^[+-]?[0-9]+$' then
        case when cast({{ text }} as numeric) between -9223372036854775808 and 9223372036854775807
            then cast(cast({{ text }} as numeric) as {{ dbt.type_bigint() }})
        end
    end
{%- endmacro %}

{% macro default__parse_integer_typed(column) -%}
    case
        when cast({{ column }} as numeric) between -9223372036854775808 and 9223372036854775807
            then cast({{ column }} as {{ dbt.type_bigint() }})
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

{% macro default__parse_amount_text(text) -%}
    {#- Exact: the text is read as numeric directly (never through a double,
        which keeps only ~15 significant digits and overflows past 1e308).
        Null, like DuckDB's try_cast to decimal(38, 18), when the value does
        not fit 20 integer digits. An exponent beyond +-9999 (which numeric
        cannot read) makes the value 0 when negative and null when positive
        (even for a zero mantissa, as DuckDB does). -#}
    {%- set exponent = "coalesce(substring(" ~ text ~ " from '[eE]([+-]?[0-9]+)$'), '0')" -%}
    {%- set exponent_digits = "ltrim(substring(" ~ exponent ~ " from '[0-9]+$'), '0')" -%}
    case when {{ text }} ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$' then
        case
            when length({{ exponent_digits }}) > 4 then
                case
                    when {{ exponent }} like '-%' then cast(0 as decimal(38, 18))
                end
            when abs(round(cast({{ text }} as numeric), 18)) < 100000000000000000000
                then cast(cast({{ text }} as numeric) as decimal(38, 18))
        end
    end
{%- endmacro %}
