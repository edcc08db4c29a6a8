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


{#- An amount as an exact decimal (not yet rounded): a plain decimal number,
    optionally with an exponent. Typed numbers go through their text form. -#}
{% macro parse_amount(column, dtype) -%}
    {{ adapter.dispatch('parse_amount_text', 'sbdk')(sbdk.clean_text(column)) }}
{%- endmacro %}
