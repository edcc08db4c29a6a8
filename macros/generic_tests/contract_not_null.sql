{#- Model-level test: the model's `not_null` constraints (column and model
    level) hold. A contracted model's constraints are enforced by the engine on
    DuckDB and PostgreSQL, but not on Spark's parquet tables (dbt-spark enforces
    them only on Delta), so this test is attached to each contracted mart and
    enabled only on engines that do not enforce them (see _marts__models.yml).
    Fails with one row per constrained column holding nulls: the column's name
    and how many rows are null.
    Implementations: default__ only (portable SQL, every engine). -#}
{% test contract_not_null(model) %}
    {{ return(adapter.dispatch('test_contract_not_null', 'sbdk')(model)) }}
{% endtest %}

{% macro default__test_contract_not_null(model) %}
{%- set columns = sbdk._not_null_constrained_columns(model) -%}
{%- if execute and columns | length == 0 -%}
    {{ exceptions.raise_compiler_error("sbdk.contract_not_null on " ~ model ~ ": the model has no not_null constraint to check; remove the test or add constraints") }}
{%- endif %}
{%- for column in columns %}
select
    cast('{{ column }}' as {{ dbt.type_string() }}) as column_name,
    count(*) as null_rows
from {{ model }}
where {{ adapter.quote(column) }} is null
having count(*) > 0
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- if columns | length == 0 %}
{#- Parse time (the graph is not available): a query of the right shape. #}
select
    cast(null as {{ dbt.type_string() }}) as column_name,
    count(*) as null_rows
from {{ model }}
having count(*) < 0
{%- endif %}
{% endmacro %}


{#- Names of the columns with a not_null constraint of the model behind the
    relation `model`, found in the graph (empty at parse time). -#}
{% macro _not_null_constrained_columns(model) -%}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- if model.identifier is not defined or model.identifier is none -%}
            {{ exceptions.raise_compiler_error("sbdk.contract_not_null needs a model relation, got " ~ model ~ " (a `where` config is not supported)") }}
        {%- endif -%}
        {%- set nodes = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model'
                and (node.alias or node.name) | lower == model.identifier | lower
                and (node.schema or '') | lower == (model.schema or '') | lower -%}
                {%- do nodes.append(node) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if nodes | length != 1 -%}
            {{ exceptions.raise_compiler_error("sbdk.contract_not_null: found " ~ (nodes | length) ~ " models for " ~ model) }}
        {%- endif -%}
        {%- set node = nodes[0] -%}
        {%- for column in node.columns.values() -%}
            {%- for constraint in column.constraints if constraint.type == 'not_null' and column.name not in names -%}
                {%- do names.append(column.name) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- for constraint in node.constraints if constraint.type == 'not_null' -%}
            {%- for name in constraint.columns if name not in names -%}
                {%- do names.append(name) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(names) -}}
{%- endmacro %}
