{#- The text after the last occurrence of a one-character `separator`
    ('' when it is the last character).
    Implementations: default__ only (portable: dbt.right, dbt.position and
    reverse(), used by every engine). -#}
{% macro text_after_last(text, separator) -%}
    {{ return(adapter.dispatch('text_after_last', 'sbdk')(text, separator)) }}
{%- endmacro %}

{% macro default__text_after_last(text, separator) -%}
    {{ dbt.right(text, dbt.position(separator, 'reverse(' ~ text ~ ')') ~ ' - 1') }}
{%- endmacro %}
