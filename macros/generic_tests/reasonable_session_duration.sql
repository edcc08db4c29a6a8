{#- Fails on each session whose duration in minutes (`column_name`) exceeds
    `max_hours` (default: var max_session_duration_hours, else 12, its default in
    dbt_project.yml: a consumer's own models do not see the package's vars).
    Implementations: default__ only (portable SQL, every engine). -#}
{% test reasonable_session_duration(model, column_name, max_hours=none) %}
    {{ return(adapter.dispatch('test_reasonable_session_duration', 'sbdk')(model, column_name, max_hours)) }}
{% endtest %}

{% macro default__test_reasonable_session_duration(model, column_name, max_hours) %}
{%- set hours = max_hours if max_hours is not none else sbdk.number_var('max_session_duration_hours', 12) %}
select *
from {{ model }}
where {{ column_name }} > {{ hours }} * 60
{% endmacro %}
