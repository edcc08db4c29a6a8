{#- on-run-start check (dbt_project.yml) in a consumer's project: the tests dbt
    generates from the package's YAML name their model with a one-argument ref,
    which dbt resolves in the root project first. A consumer model named like one
    of the package's (stg_users, user_metrics, ...) would then be tested in place
    of the package's, so the run stops with one line saying what to set: dbt's
    flag `require_ref_searches_node_package_before_root` (dbt 1.11 and later)
    makes every package node read the package's own models. Internal. -#}
{% macro check_consumer_project() -%}
    {%- if execute and project_name != 'sbdk' -%}
        {%- set clashes = [] -%}
        {%- for node in graph.nodes.values() if node.package_name == 'sbdk' -%}
            {%- for dependency in node.depends_on.nodes
                if dependency.split('.')[0] in ['model', 'seed', 'snapshot'] and dependency.split('.')[1] != 'sbdk'
                and dependency.split('.')[2] not in clashes -%}
                {%- do clashes.append(dependency.split('.')[2]) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- if clashes -%}
            {{ exceptions.raise_compiler_error(
                "sbdk: your project's models " ~ (clashes | sort | join(', '))
                ~ " have the names of sbdk models, and dbt would run the package's tests on yours:"
                ~ " add `flags: {require_ref_searches_node_package_before_root: true}` to your dbt_project.yml"
                ~ " (dbt 1.11 or later), or rename them") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
