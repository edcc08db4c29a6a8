{#- Source test: fails on each non-null value of `column_name` that the
    staging layer cannot read as `kind` (id, timestamp or amount), i.e. rows
    that will be flagged missing_* / invalid_amount. -#}
{% test values_parse(model, column_name, kind) %}
    {{ return(adapter.dispatch('test_values_parse', 'sbdk')(model, column_name, kind)) }}
{% endtest %}

{% macro default__test_values_parse(model, column_name, kind) %}
{%- set bare_name = column_name | replace('"', '') | replace('`', '') | lower -%}
{%- set types = sbdk.raw_column_types(model, [bare_name]) -%}
{%- set dtype = types.get(bare_name) -%}
{%- if kind == 'id' -%}
    {%- set parsed = sbdk.parse_id(column_name, dtype) -%}
{%- elif kind == 'timestamp' -%}
    {%- set parsed = sbdk.parse_timestamp(column_name, dtype) -%}
{%- elif kind == 'amount' -%}
    {%- set parsed = sbdk.parse_amount(column_name, dtype) -%}
{%- else -%}
    {{ exceptions.raise_compiler_error("sbdk.values_parse: kind must be id, timestamp or amount, got '" ~ kind ~ "'") }}
{%- endif %}
select {{ column_name }} as unparsable_value
from {{ model }}
where {{ sbdk.clean_text(column_name) }} is not null
    and ({{ parsed }}) is null
{% endmacro %}
