{#- Whether a column of a relation (from adapter.get_columns_in_relation) holds
    text. Column.is_string() knows only the names of the ANSI family (varchar,
    text, character varying ...), not Spark's `string`.
    Implementations: default__ (portable: dbt's Column.is_string(), used by
    DuckDB and PostgreSQL), spark__ (also Spark's string/varchar/char). -#}
{% macro is_text_column(column) -%}
    {{ return(adapter.dispatch('is_text_column', 'sbdk')(column)) }}
{%- endmacro %}

{% macro default__is_text_column(column) -%}
    {{ return(column.is_string()) }}
{%- endmacro %}

{% macro spark__is_text_column(column) -%}
    {%- set dtype = (column.dtype or '') | lower -%}
    {{ return(column.is_string() or dtype == 'string' or dtype.startswith('varchar') or dtype.startswith('char')) }}
{%- endmacro %}
