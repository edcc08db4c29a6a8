-- No text column of a mart holds an email address or any value with '@'.
-- depends_on: {{ ref('user_metrics') }}, {{ ref('cohort_summary') }}, {{ ref('cohort_retention') }}
-- depends_on: {{ ref('product_summary') }}, {{ ref('daily_summary') }}, {{ ref('data_quality_summary') }}
{%- set marts = [
    'user_metrics', 'cohort_summary', 'cohort_retention',
    'product_summary', 'daily_summary', 'data_quality_summary'
] -%}
{%- set checks = [] -%}
{%- if execute -%}
    {%- for mart in marts -%}
        {%- for column in adapter.get_columns_in_relation(ref(mart)) if sbdk.is_text_column(column) -%}
            {%- do checks.append((mart, column.name)) -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif %}
{#- The marts have text columns on every engine: finding none means the check
    cannot see them (sbdk.is_text_column does not know this engine's text type,
    or the marts are missing), which must fail, not pass as "no email found". -#}
{%- set no_text_column_message = "no text column found in the marts ("
    ~ marts | join(', ') ~ "): sbdk.is_text_column does not recognise the text type of this engine, or the marts are missing" -%}
{%- if execute and checks | length == 0 -%}
    {{ log("assert_no_email_in_marts: " ~ no_text_column_message, info=true) }}
{%- endif %}
{% for mart, column in checks %}
    select '{{ mart }}' as model_name, '{{ column }}' as column_name, {{ column }} as offending_value
    from {{ ref(mart) }}
    where {{ column }} like '%@%'
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- if checks | length == 0 %}
    {#- One failing row naming the problem (a query of the right shape at parse time). #}
    select
        cast('{{ marts | join(', ') }}' as {{ dbt.type_string() }}) as model_name,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast('{{ no_text_column_message }}' as {{ dbt.type_string() }}) as offending_value
    where {{ '1 = 1' if execute else '1 = 0' }}
{%- endif %}
