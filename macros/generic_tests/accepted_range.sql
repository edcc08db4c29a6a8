{#- Fails on every row whose `column_name` lies outside [min_value, max_value]
    (bounds optional; `inclusive: false` makes them strict). Nulls pass.
    Implementations: default__ only (portable SQL, every engine). -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
    {{ return(adapter.dispatch('test_accepted_range', 'sbdk')(model, column_name, min_value, max_value, inclusive)) }}
{% endtest %}

{% macro default__test_accepted_range(model, column_name, min_value, max_value, inclusive) %}
{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error("sbdk.accepted_range on " ~ column_name ~ ": give min_value, max_value or both") }}
{%- endif %}
select *
from {{ model }}
where {{ column_name }} is not null
    and not (
        1 = 1
        {%- if min_value is not none %}
        and {{ column_name }} {{ '>=' if inclusive else '>' }} {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        and {{ column_name }} {{ '<=' if inclusive else '<' }} {{ max_value }}
        {%- endif %}
    )
{% endmacro %}
