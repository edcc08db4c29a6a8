{#- Spark parsing (Spark 3.3+, ANSI mode on or off). Spark has no `~`
    operator, `numeric` there is decimal(10,0), and in ANSI mode (the default
    since Spark 4) a failed cast is an error, not a null. So every value is
    matched first, and every cast is a try_cast that yields null when the
    value still does not fit: a bad value becomes null and is flagged, it
    never fails the build.

    Full matches: Spark's regular expressions are Java's, where `$` also
    matches before a final line break ('12\n' would match '^[0-9]+$').
    `_spark_full_match` therefore compares the whole text with what the
    pattern matched, so a trailing line break (or any other character) makes
    the value unparsable, as on DuckDB and PostgreSQL. -#}

{% macro _spark_full_match(text, pattern) -%}
    (regexp_extract({{ text }}, '{{ pattern }}', 0) = {{ text }})
{%- endmacro %}


{#- Ids: an optional sign and any number of digits (leading zeros included:
    '-000000000000000000000042' is -42), as long as the value fits 64 bits
    ('9223372036854775808' or 20 significant digits is missing). try_cast of
    such a text to bigint reads exactly that (overflow gives null). -#}
{% macro spark__parse_id_text(text) -%}
    case when {{ sbdk._spark_full_match(text, '^[+-]?[0-9]+$') }} then try_cast({{ text }} as bigint) end
{%- endmacro %}


{#- A typed integer column: every Spark integer type fits bigint; a decimal(38,0)
    beyond 64 bits is a missing id, not a failed build. -#}
{% macro spark__parse_integer_typed(column) -%}
    try_cast({{ column }} as bigint)
{%- endmacro %}


{#- A typed float/double/decimal column: an id only when integral and within
    64 bits. try_cast truncates a fraction (so the comparison with the value
    fails) and gives null for NaN, infinity and anything beyond 64 bits; floor()
    is not used because on a double it raises an overflow error in ANSI mode. -#}
{% macro spark__parse_integral_number(column) -%}
    case
        when try_cast({{ column }} as bigint) = {{ column }}
            then try_cast({{ column }} as bigint)
    end
{%- endmacro %}


{#- Spark has no timestamp with time zone type: a typed timestamp is an
    instant, shown in the session time zone (which must be UTC, as for every
    date and hour the models derive). -#}
{% macro spark__timestamptz_to_utc(column) -%}
    cast({{ column }} as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- Timestamps: matched strictly with _iso_timestamp_pattern (years 0001-9999,
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


{#- Amounts: a plain decimal, optionally with an exponent, read exactly (as
    PostgreSQL's numeric does, never through a double) by try_cast to
    decimal(38, 18): rounded half away from zero to 18 places, and null when
    the value needs more than 20 integer digits, as DuckDB's
    try_cast(... as decimal(38, 18)). Exponents follow DuckDB too: one outside
    -32768..32767 makes the value null ('1e-99999', '0e99999'); one of more
    than 4 digits (leading zeros aside) makes it 0 when negative or when the
    mantissa is zero ('1e-10000', '0e10000'), else null ('1e10000'). (DuckDB
    still differs on contrived texts with more than 38 mantissa digits, e.g.
    '0.<38 zeros>1e39'; the PostgreSQL implementation makes '0e10000' null and
    '1e-99999' 0.) -#}
{% macro spark__parse_amount_text(text) -%}
    {%- set pattern = '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$' -%}
    {#- the exponent as written ('' without one) and its digits without leading zeros -#}
    {%- set exponent = "regexp_extract(" ~ text ~ ", '[eE]([+-]?[0-9]+)$', 1)" -%}
    {%- set exponent_digits = "regexp_extract(" ~ exponent ~ ", '[1-9][0-9]*$', 0)" -%}
    case when {{ sbdk._spark_full_match(text, pattern) }} then
        case
            when {{ exponent }} = '' then try_cast({{ text }} as decimal(38, 18))
            when not coalesce(try_cast({{ exponent }} as int) between -32768 and 32767, false) then null
            when length({{ exponent_digits }}) > 4 then
                case
                    when {{ exponent }} like '-%' or {{ text }} rlike '^[+-]?[0.]+[eE]'
                        then cast(0 as decimal(38, 18))
                end
            else try_cast({{ text }} as decimal(38, 18))
        end
    end
{%- endmacro %}
