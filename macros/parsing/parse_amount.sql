{#- Amounts: parse_amount and every engine's version of the rule it
    dispatches to, parse_amount_text, in order default__, postgres__,
    redshift__, duckdb__, spark__: postgres__ (`~` matching, substring of a
    regular expression, PostgreSQL's unconstrained numeric), duckdb__,
    spark__; default__ fails with a message naming the rule and the adapter,
    and so does redshift__ (no substring of a regular expression; its plain
    numeric is numeric(18, 0)). What every Spark version relies on is
    explained with _spark_full_match in raw_columns.sql. -#}

{#- An amount as an exact decimal (not yet rounded): a plain decimal number,
    optionally with an exponent. Typed numbers (of any type) go through
    their text form, so the rule needs no column type. -#}
{% macro parse_amount(column) -%}
    {{ adapter.dispatch('parse_amount_text', 'sbdk')(sbdk.clean_text(column)) }}
{%- endmacro %}


{#- parse_amount_text: amount text (already trimmed). -#}

{% macro default__parse_amount_text(text) -%}
    {{ sbdk._no_engine_implementation('parse_amount_text') }}
{%- endmacro %}

{% macro redshift__parse_amount_text(text) -%}
    {{ sbdk._no_engine_implementation('parse_amount_text') }}
{%- endmacro %}

{% macro postgres__parse_amount_text(text) -%}
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

{% macro duckdb__parse_amount_text(text) -%}
    case
        when regexp_full_match({{ text }}, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?')
            then try_cast({{ text }} as decimal(38, 18))
    end
{%- endmacro %}

{#- Spark: a plain decimal, optionally with an exponent, read exactly (as
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
