{#- Ids: parse_id and every engine's version of the rules it dispatches to
    (id text, a typed integer column, a typed float/double/decimal column),
    each rule in order default__, postgres__, redshift__, duckdb__, spark__:
    - parse_id_text and parse_integral_number: postgres__ (`~` matching and
      PostgreSQL's unconstrained numeric, which keeps every digit and the
      fraction), duckdb__, spark__; default__ fails with a message naming the
      rule and the adapter, and so does redshift__ (Redshift's plain numeric
      is numeric(18, 0): a fraction would be rounded away, 19 digits overflow).
    - parse_integer_typed: default__ (portable: a cast to numeric and a range
      check; PostgreSQL's), duckdb__, spark__ (try_cast).
    What every Spark version relies on is explained with _spark_full_match in
    raw_columns.sql. -#}

{#- An id: after trimming, an optional sign and digits that fit 64 bits;
    a typed number only when integral. Anything else is null (missing). -#}
{% macro parse_id(column, dtype) -%}
    {%- set kind = sbdk._type_kind(dtype) -%}
    {%- if kind == 'integer' -%}
        {{ adapter.dispatch('parse_integer_typed', 'sbdk')(column) }}
    {%- elif kind == 'number' -%}
        {{ adapter.dispatch('parse_integral_number', 'sbdk')(column) }}
    {%- else -%}
        {{ adapter.dispatch('parse_id_text', 'sbdk')(sbdk.clean_text(column)) }}
    {%- endif -%}
{%- endmacro %}


{#- parse_id_text: an id in a text column (already trimmed). -#}

{% macro default__parse_id_text(text) -%}
    {{ sbdk._no_engine_implementation('parse_id_text') }}
{%- endmacro %}

{% macro redshift__parse_id_text(text) -%}
    {{ sbdk._no_engine_implementation('parse_id_text') }}
{%- endmacro %}

{% macro postgres__parse_id_text(text) -%}
    {#- Nested CASEs, not AND: the engine may evaluate the operands of AND in
        any order, and the cast fails on text the pattern rejects. Any number
        of digits (leading zeros included), as long as the value fits 64 bits. -#}
    case when {{ text }} ~ '^[+-]?[0-9]+$' then
        case when cast({{ text }} as numeric) between -9223372036854775808 and 9223372036854775807
            then cast(cast({{ text }} as numeric) as {{ dbt.type_bigint() }})
        end
    end
{%- endmacro %}

{% macro duckdb__parse_id_text(text) -%}
    case when regexp_full_match({{ text }}, '[+-]?[0-9]+') then try_cast({{ text }} as bigint) end
{%- endmacro %}

{#- Spark: an optional sign and any number of digits (leading zeros included:
    '-000000000000000000000042' is -42), as long as the value fits 64 bits
    ('9223372036854775808' or 20 significant digits is missing). try_cast of
    such a text to bigint reads exactly that (overflow gives null). -#}
{% macro spark__parse_id_text(text) -%}
    case when {{ sbdk._spark_full_match(text, '^[+-]?[0-9]+$') }} then try_cast({{ text }} as bigint) end
{%- endmacro %}


{#- parse_integer_typed: an id in a typed integer column. -#}

{% macro default__parse_integer_typed(column) -%}
    case
        when cast({{ column }} as numeric) between -9223372036854775808 and 9223372036854775807
            then cast({{ column }} as {{ dbt.type_bigint() }})
    end
{%- endmacro %}

{#- A typed integer column (hugeint, ubigint ...) may hold values beyond 64
    bits: those are missing ids, not a failed build. -#}
{% macro duckdb__parse_integer_typed(column) -%}
    try_cast({{ column }} as bigint)
{%- endmacro %}

{#- Spark: every Spark integer type fits bigint; a decimal(38,0) beyond 64
    bits is a missing id, not a failed build. -#}
{% macro spark__parse_integer_typed(column) -%}
    try_cast({{ column }} as bigint)
{%- endmacro %}


{#- parse_integral_number: an id in a typed float/double/decimal column,
    only when integral and within 64 bits. -#}

{% macro default__parse_integral_number(column) -%}
    {{ sbdk._no_engine_implementation('parse_integral_number') }}
{%- endmacro %}

{% macro redshift__parse_integral_number(column) -%}
    {{ sbdk._no_engine_implementation('parse_integral_number') }}
{%- endmacro %}

{% macro postgres__parse_integral_number(column) -%}
    case
        when cast({{ column }} as numeric) = floor(cast({{ column }} as numeric))
            and cast({{ column }} as numeric) between -9223372036854775808 and 9223372036854775807
            then cast({{ column }} as {{ dbt.type_bigint() }})
    end
{%- endmacro %}

{% macro duckdb__parse_integral_number(column) -%}
    case
        when isfinite(cast({{ column }} as double))
            and cast({{ column }} as double) = floor(cast({{ column }} as double))
            then try_cast({{ column }} as bigint)
    end
{%- endmacro %}

{#- Spark: try_cast truncates a fraction (so the comparison with the value
    fails) and gives null for NaN, infinity and anything beyond 64 bits; floor()
    is not used because on a double it raises an overflow error in ANSI mode. -#}
{% macro spark__parse_integral_number(column) -%}
    case
        when try_cast({{ column }} as bigint) = {{ column }}
            then try_cast({{ column }} as bigint)
    end
{%- endmacro %}
