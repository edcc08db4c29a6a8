{#- Where the package's models and seeds land (dbt uses an installed package's own
    generate_schema_name for that package's nodes):
    - when this repository is the root project (its own CLI, harness and
      benchmarks): the target schema;
    - in a consumer's project: what the consumer's own generate_schema_name makes of
      the custom schema `sbdk` (dbt_project.yml, overridable with
      `models: sbdk: +schema: ...`), or dbt's default, <target schema>_sbdk.
    Internal. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if project_name == 'sbdk' -%}
        {{- return(target.schema) -}}
    {%- endif -%}
    {%- set root = context.get(project_name) -%}
    {%- if root is not none and root.get('generate_schema_name') is not none -%}
        {{- return(root.generate_schema_name(custom_schema_name, node)) -}}
    {%- endif -%}
    {{- return(dbt.generate_schema_name(custom_schema_name, node)) -}}
{%- endmacro %}
