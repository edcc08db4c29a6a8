{#- Model-level test: no text column of the model holds an '@' (an email address
    or a piece of one; the contract keeps personal data out of every mart).
    The text columns are read from the built relation when the test runs, so a new
    column or a new mart carrying this test is checked without listing anything.
    Fails with one row per offending value: the column's name and the value. -#}
{% test no_personal_data(model) %}
{%- set text_columns = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(model) if sbdk.is_text_column(column) -%}
        {%- do text_columns.append(column.name) -%}
    {%- endfor -%}
{%- endif %}
{%- for column in text_columns %}
select
    cast('{{ column }}' as {{ dbt.type_string() }}) as column_name,
    {{ adapter.quote(column) }} as offending_value
from {{ model }}
where {{ adapter.quote(column) }} like '%@%'
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- if text_columns | length == 0 %}
{#- No text column (or parse time): nothing can hold an address. #}
select
    cast(null as {{ dbt.type_string() }}) as column_name,
    cast(null as {{ dbt.type_string() }}) as offending_value
from {{ model }}
where 1 = 0
{%- endif %}
{% endtest %}
