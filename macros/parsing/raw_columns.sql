{#- Helpers shared by the parsing rules (parse_id.sql, parse_timestamp.sql,
    parse_amount.sql), the staging models and the values_parse test: the types
    of the raw columns, text cleaning, and Spark's full regular-expression
    match. -#}

{#- Types of a raw table's columns, keyed by lower-case name, looked up when
    the model runs. Fails with a message naming the table and column when a
    column of the contract is missing. At parse time every column is text. -#}
{% macro raw_column_types(relation, required_columns) -%}
    {%- set types = {} -%}
    {%- if execute -%}
        {%- set columns = adapter.get_columns_in_relation(relation) -%}
        {%- if columns | length == 0 -%}
            {{ exceptions.raise_compiler_error("sbdk: raw table " ~ relation ~ " was not found (or has no columns). Set var 'sbdk_raw_schema' / 'sbdk_raw_database' to where raw_users, raw_events and raw_orders live.") }}
        {%- endif -%}
        {%- for column in columns -%}
            {%- do types.update({column.name | lower: column.dtype | lower}) -%}
        {%- endfor -%}
        {%- for name in required_columns -%}
            {%- if name not in types -%}
                {{ exceptions.raise_compiler_error("sbdk: raw table " ~ relation ~ " has no column '" ~ name ~ "' (it has: " ~ (types.keys() | list | join(', ')) ~ ")") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(types) -}}
{%- endmacro %}


{% macro _type_kind(dtype) -%}
    {%- set t = (dtype or 'varchar') | lower -%}
    {%- if t.startswith('timestamp with time zone') or t == 'timestamptz' -%}
        {{- return('timestamptz') -}}
    {%- elif t.startswith('timestamp') or t.startswith('datetime') -%}
        {{- return('timestamp') -}}
    {%- elif t == 'date' -%}
        {{- return('date') -}}
    {%- elif t in ['tinyint', 'smallint', 'integer', 'int', 'bigint', 'hugeint', 'int2', 'int4', 'int8',
                   'utinyint', 'usmallint', 'uinteger', 'ubigint', 'uhugeint'] -%}
        {{- return('integer') -}}
    {%- elif t in ['float', 'double', 'real', 'double precision', 'float4', 'float8'] or t.startswith('decimal') or t.startswith('numeric') -%}
        {{- return('number') -}}
    {%- else -%}
        {{- return('text') -}}
    {%- endif -%}
{%- endmacro %}


{#- Text after trimming spaces; empty means null. -#}
{% macro clean_text(column) -%}
    nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '')
{%- endmacro %}


{#- A free-text value that reaches a mart (country, referrer, product category):
    one holding an '@' is personal data in the wrong column (an email address),
    so it is dropped to null like a blank, and no mart ever holds an '@'. -#}
{% macro clean_dimension(column) -%}
    case
        when {{ dbt.position("'@'", sbdk.clean_text(column)) }} = 0 then {{ sbdk.clean_text(column) }}
    end
{%- endmacro %}


{#- Spark parsing (Spark 3.3+, ANSI mode on or off), shared by every spark__
    version of the parsing rules (parse_id.sql, parse_timestamp.sql,
    parse_amount.sql). Spark has no `~` operator, `numeric` there is
    decimal(10,0), and in ANSI mode (the default since Spark 4) a failed cast
    is an error, not a null. So every value is matched first, and every cast
    is a try_cast that yields null when the value still does not fit: a bad
    value becomes null and is flagged, it never fails the build.

    Full matches: Spark's regular expressions are Java's, where `$` also
    matches before a final line break ('12\n' would match '^[0-9]+$').
    `_spark_full_match` therefore compares the whole text with what the
    pattern matched, so a trailing line break (or any other character) makes
    the value unparsable, as on DuckDB and PostgreSQL. -#}
{% macro _spark_full_match(text, pattern) -%}
    (regexp_extract({{ text }}, '{{ pattern }}', 0) = {{ text }})
{%- endmacro %}
