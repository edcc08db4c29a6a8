{#- Reference date, thresholds and run timestamp.
    No model calls current_date / now(): "today" is var('as_of_date'). -#}

{% macro as_of_date_string() -%}
    {%- set raw = var('as_of_date', none) -%}
    {%- if raw is none or (raw | string | trim) == '' -%}
        {{- return(run_started_at.strftime('%Y-%m-%d')) -}}
    {%- endif -%}
    {{- return(sbdk.date_var('as_of_date')) -}}
{%- endmacro %}


{#- A var holding a date, checked: a real date written YYYY-MM-DD, else the compile
    fails with a message naming the var. -#}
{% macro date_var(name) -%}
    {%- set text = var(name, none) | string | trim -%}
    {#- split, not a match object's group(): dbt's v2 parser (--use-v2-parser) has no match objects -#}
    {%- set valid = false -%}
    {%- if modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
        {%- set parts = text.split('-') -%}
        {%- set y, mo, d = parts[0] | int, parts[1] | int, parts[2] | int -%}
        {%- if y >= 1 and mo >= 1 and mo <= 12 and d >= 1 and d <= 31 -%}
            {%- set first = modules.datetime.date(y, mo, 1) -%}
            {%- set valid = (first + modules.datetime.timedelta(days=d - 1)).month == mo -%}
        {%- endif -%}
    {%- endif -%}
    {%- if not valid -%}
        {{ exceptions.raise_compiler_error("sbdk: var '" ~ name ~ "' must be a real date written YYYY-MM-DD, got '" ~ text ~ "'") }}
    {%- endif -%}
    {{- return(text) -}}
{%- endmacro %}


{% macro as_of_date() -%}
    cast('{{ sbdk.as_of_date_string() }}' as date)
{%- endmacro %}


{#- First instant after the end of as_of_date: as_of_date + 1 day at 00:00:00. -#}
{% macro as_of_end_timestamp() -%}
    {%- set d = modules.datetime.datetime.strptime(sbdk.as_of_date_string(), '%Y-%m-%d') -%}
    cast('{{ (d + modules.datetime.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- dbt_updated_at: when this dbt invocation started (UTC), never current_timestamp. -#}
{% macro run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- A threshold var of the contract, checked so that a typo or a meaningless value
    fails the compile with a message naming the var: every threshold is a number
    greater than 0, and the counts of events and days are whole numbers.
    `default`: the value when the var is not set at all, for the generic tests a
    consumer attaches to its own models (its nodes do not see the package's vars). -#}
{% macro number_var(name, default=none) -%}
    {%- set whole_number_vars = [
        'active_user_min_events', 'active_user_min_days', 'engaged_user_min_events', 'dormant_after_days'
    ] -%}
    {%- set text = var(name, default) | string | trim -%}
    {%- if name in whole_number_vars -%}
        {%- if not modules.re.fullmatch('[+]?[0-9]+', text) -%}
            {{ exceptions.raise_compiler_error("sbdk: var '" ~ name ~ "' must be a whole number greater than 0, got '" ~ text ~ "'") }}
        {%- endif -%}
    {%- elif not modules.re.fullmatch('[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)', text) -%}
        {{ exceptions.raise_compiler_error("sbdk: var '" ~ name ~ "' must be a number greater than 0, got '" ~ text ~ "'") }}
    {%- endif -%}
    {%- if (text | float) <= 0 -%}
        {{ exceptions.raise_compiler_error("sbdk: var '" ~ name ~ "' must be greater than 0, got '" ~ text ~ "'") }}
    {%- endif -%}
    {{- return(text) -}}
{%- endmacro %}
