{#- The one compile error of every dispatched macro whose SQL is not portable
    on an engine the package has no implementation for (its `default__`, and
    a `redshift__` where the PostgreSQL version would be wrong there): names
    the macro an engine must implement (`<adapter>__<macro_name>`) and the
    adapter, instead of letting the warehouse fail on PostgreSQL-only syntax. -#}
{% macro _no_engine_implementation(macro_name) -%}
    {{ exceptions.raise_compiler_error("sbdk." ~ macro_name ~ " has no implementation for adapter '" ~ adapter.type() ~ "'; see CONTRIBUTING.md, Adding an engine") }}
{%- endmacro %}
