{#- Fails once per combination of `combination_of_columns` that occurs more
    than once, showing the combination and how often it occurs.
    Implementations: default__ only (portable SQL, every engine). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {{ return(adapter.dispatch('test_unique_combination_of_columns', 'sbdk')(model, combination_of_columns)) }}
{% endtest %}

{% macro default__test_unique_combination_of_columns(model, combination_of_columns) %}
{%- set columns = combination_of_columns | join(', ') %}
select
    {{ columns }},
    count(*) as occurrences
from {{ model }}
group by {{ columns }}
having count(*) > 1
{% endmacro %}
