{#- Source test: fails on each value of `column_name` that the staging layer
    cannot read as `kind` (id, timestamp or amount): null, blank or unparsable
    (`allow_null: true` lets null and blank pass). These are the rows staging
    flags missing_* / invalid_amount.
    Implementations: default__ only (portable SQL, every engine; the
    parsing it applies is dispatched by parse_id, parse_timestamp and
    parse_amount). -#}
{% test values_parse(model, column_name, kind, allow_null=false) %}
    {{ return(adapter.dispatch('test_values_parse', 'sbdk')(model, column_name, kind, allow_null)) }}
{% endtest %}

{% macro default__test_values_parse(model, column_name, kind, allow_null) %}
{%- set bare_name = column_name | replace('"', '') | replace('`', '') | lower -%}
{%- set types = sbdk.raw_column_types(model, [bare_name]) -%}
{%- set dtype = types.get(bare_name) -%}
{%- if kind == 'id' -%}
    {%- set parsed = sbdk.parse_id(column_name, dtype) -%}
{%- elif kind == 'timestamp' -%}
    {%- set parsed = sbdk.parse_timestamp(column_name, dtype) -%}
{%- elif kind == 'amount' -%}
    {%- set parsed = sbdk.parse_amount(column_name) -%}
{%- else -%}
    {{ exceptions.raise_compiler_error("sbdk.values_parse: kind must be id, timestamp or amount, got '" ~ kind ~ "'") }}
{%- endif %}
select {{ column_name }} as unparsable_value
from {{ model }}
where
    ({{ parsed }}) is null
    {%- if allow_null %}
    and {{ sbdk.clean_text(column_name) }} is not null
    {%- endif %}
{% endmacro %}
