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
        {%- for column in adapter.get_columns_in_relation(ref(mart)) if column.is_string() -%}
            {%- do checks.append((mart, column.name)) -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif %}
{% for mart, column in checks %}
    select '{{ mart }}' as model_name, '{{ column }}' as column_name, {{ column }} as offending_value
    from {{ ref(mart) }}
    where {{ column }} like '%@%'
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- if checks | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as {{ dbt.type_string() }}) as offending_value
    where 1 = 0
{%- endif %}
