{#- The one compile error of every dispatched macro whose SQL is not portable
    on an engine the package has no implementation for (its `default__`, and
    a `redshift__` where the PostgreSQL version would be wrong there): names
    the macro an engine must implement (`<adapter>__<macro_name>`) and the
    adapter, instead of letting the warehouse fail on PostgreSQL-only syntax. -#}
{% macro _no_engine_implementation(macro_name) -%}
    {{ exceptions.raise_compiler_error("sbdk." ~ macro_name ~ " has no implementation for adapter '" ~ adapter.type() ~ "'; see CONTRIBUTING.md, Adding an engine") }}
{%- endmacro %}


{#- On PostgreSQL, `analyze` the table a model just wrote, in its transaction (a post-hook).
    A table created or rewritten in the build has no statistics until autovacuum comes
    round, and the planner then takes it for nearly empty and joins by nested loops:
    int_user_orders' full build took 115 s instead of about 1 s at 1 M events. Elsewhere
    nothing (DuckDB keeps its statistics as it writes; Spark tables are rebuilt whole). -#}
{% macro refresh_statistics() -%}
    {%- if target.type == 'postgres' -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
