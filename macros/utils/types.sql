{#- Column types used across the package. dbt.type_float() is 32-bit on
    DuckDB, so ratios use a dispatched double.
    Implementations: default__ (portable ANSI type names, used by DuckDB and
    PostgreSQL), spark__ for type_double (Spark's `double`). -#}

{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'sbdk')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}


{% macro type_money() -%}
    {{ return(adapter.dispatch('type_money', 'sbdk')()) }}
{%- endmacro %}

{#- Money of one order. -#}
{% macro default__type_money() -%}
    decimal(18, 2)
{%- endmacro %}


{% macro type_money_sum() -%}
    {{ return(adapter.dispatch('type_money_sum', 'sbdk')()) }}
{%- endmacro %}

{#- Sums of money. -#}
{% macro default__type_money_sum() -%}
    decimal(38, 2)
{%- endmacro %}
