{#- Incremental builds: the state each incremental model keeps, and the plan of
    a build (full or incremental) that its SQL, its strategy and its post-hook
    share. How the whole works is described in docs/incremental.md.

    The state of a model is one row of the table `sbdk_incremental_state` in the
    model's own schema, written by the model's post-hook inside the model's own
    transaction (so a build that fails or is interrupted never advances it):
    - built_at: run_started_at of the last successful build. A downstream model
      reprocesses the users whose rows upstream have a newer dbt_updated_at;
    - as_of_date of that build (the rows of the as_of band are reprocessed when
      it moves, either way);
    - settings_hash: every input that rewrites history (the package version,
      the thresholds, the raw tables' location, the loaded-at column, the SQL of
      the package's models and its mapping seeds). A different hash, a missing
      row or a missing table means a full rebuild, done by the build itself;
    - loaded_max / loaded_rows (staging only): the largest loaded-at value of
      the raw table and how many rows it had then (rows with no loaded-at
      value included). The next build reads the rows loaded after loaded_max;
      when fewer or more rows than loaded_rows are at or before it (a row
      deleted or updated in place, or loaded out of order), it rebuilds in
      full instead. -#}

{% macro incremental_state_relation(relation=none) -%}
    {%- set base = relation if relation is not none else this -%}
    {{- return(api.Relation.create(database=base.database, schema=base.schema, identifier='sbdk_incremental_state', type='table')) -}}
{%- endmacro %}


{#- A setting of the incremental machinery, from the model's `meta` (dbt keeps
    custom config keys there; its v2 parser rejects them anywhere else):
    sbdk_unit ('user_id' or 'all'), sbdk_upstream (the models it reads, by name)
    and, on staging, sbdk_raw (its raw table). -#}
{% macro model_setting(name, default=none, required=false) -%}
    {%- set meta = config.get('meta') or {} -%}
    {%- if required and name not in meta -%}
        {{ exceptions.raise_compiler_error("sbdk: model " ~ model.name ~ " has no meta." ~ name ~ " in its config") }}
    {%- endif -%}
    {{- return(meta.get(name, default)) -}}
{%- endmacro %}


{#- Whether this model is built incrementally on this engine at all. -#}
{% macro incremental_enabled() -%}
    {{- return(config.get('materialized') == 'incremental') -}}
{%- endmacro %}


{#- The package's version, kept equal to dbt_project.yml's by a test. -#}
{% macro package_version() -%}
    {{- return('0.1.0') -}}
{%- endmacro %}


{#- The hash of everything that rewrites history when it changes. -#}
{% macro incremental_settings_hash() -%}
    {%- set parts = ['version=' ~ sbdk.package_version()] -%}
    {%- for name in [
        'session_timeout_minutes', 'max_session_duration_hours', 'active_user_min_events',
        'active_user_min_days', 'engaged_user_min_events', 'dormant_after_days',
        'high_value_customer_threshold', 'medium_value_customer_threshold', 'min_order_amount',
        'sbdk_raw_schema', 'sbdk_raw_database', 'sbdk_loaded_at_column'
    ] -%}
        {%- do parts.append(name ~ '=' ~ (var(name, none) | string | trim)) -%}
    {%- endfor -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
            {%- if node.package_name == 'sbdk' and node.resource_type in ['model', 'seed'] -%}
                {%- do parts.append(node.unique_id ~ '=' ~ node.checksum.checksum) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(local_md5(parts | join('|'))) -}}
{%- endmacro %}


{#- The loaded-at column of a raw table, parsed to a UTC timestamp, or none when
    the table has no such column. -#}
{% macro loaded_at_expression(relation) -%}
    {%- set name = (var('sbdk_loaded_at_column', '_loaded_at') | string | trim) -%}
    {%- if not execute or name == '' -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- if (column.name | lower) == (name | lower) -%}
            {{- return(sbdk.parse_timestamp(adapter.quote(column.name), column.dtype)) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- return(none) -}}
{%- endmacro %}


{#- The plan of this build of the model:
    {incremental, reason, built_at, as_of_changed, as_of_prev, loaded_max, loaded_at}.
    `incremental` is false on a first build, a --full-refresh, at parse time, on
    an engine where the model is a table, and when the state says a full rebuild
    is needed (`reason` says why). -#}
{% macro incremental_plan(raw_relation=none) -%}
    {%- set plan = {'incremental': false, 'reason': 'first build', 'built_at': none, 'as_of_changed': false,
                    'as_of_prev': none, 'loaded_max': none, 'loaded_rows': none, 'loaded_at': none,
                    'unchanged': false} -%}
    {%- if not execute or not sbdk.incremental_enabled() -%}
        {%- do plan.update({'reason': 'not incremental'}) -%}
        {{- return(plan) -}}
    {%- endif -%}
    {%- if raw_relation is not none -%}
        {%- do plan.update({'loaded_at': sbdk.loaded_at_expression(raw_relation)}) -%}
    {%- endif -%}
    {%- if not is_incremental() -%}
        {{- return(plan) -}}
    {%- endif -%}
    {%- set state_relation = sbdk.incremental_state_relation() -%}
    {%- if adapter.get_relation(state_relation.database, state_relation.schema, state_relation.identifier) is none -%}
        {%- do plan.update({'reason': 'no incremental state'}) -%}
        {{- return(plan) -}}
    {%- endif -%}
    {%- set rows = run_query(
        "select cast(built_at as " ~ dbt.type_string() ~ "), as_of_date, settings_hash, "
        ~ "cast(loaded_max as " ~ dbt.type_string() ~ "), loaded_rows from " ~ state_relation
        ~ " where model_name = '" ~ this.identifier ~ "'"
    ).rows -%}
    {%- if rows | length != 1 -%}
        {%- do plan.update({'reason': 'no incremental state'}) -%}
        {{- return(plan) -}}
    {%- endif -%}
    {%- set state = rows[0] -%}
    {%- if state[2] != sbdk.incremental_settings_hash() -%}
        {%- do plan.update({'reason': 'settings changed'}) -%}
        {{- return(plan) -}}
    {%- endif -%}
    {%- if raw_relation is not none -%}
        {%- if plan.loaded_at is none -%}
            {%- do plan.update({'reason': 'no loaded-at column'}) -%}
            {{- return(plan) -}}
        {%- endif -%}
        {%- if state[4] is none or sbdk._rows_loaded_by(raw_relation, plan.loaded_at, state[3]) != (state[4] | int) -%}
            {%- do plan.update({'reason': 'raw rows changed before the watermark'}) -%}
            {{- return(plan) -}}
        {%- endif -%}
    {%- endif -%}
    {%- do plan.update({
        'incremental': true, 'reason': 'incremental', 'built_at': state[0], 'as_of_prev': state[1],
        'as_of_changed': state[1] != sbdk.as_of_date_string(), 'loaded_max': state[3],
        'loaded_rows': state[4]
    }) -%}
    {{- return(plan) -}}
{%- endmacro %}


{#- The plan of a model replaced as a whole (`sbdk_unit='all'`, the marts): the
    plan above, plus `unchanged` (an incremental build with nothing to replace,
    see _unit_all_changed). -#}
{% macro whole_table_plan() -%}
    {%- set plan = sbdk.incremental_plan() -%}
    {%- do plan.update({'unchanged': plan.incremental and not sbdk._unit_all_changed(plan)}) -%}
    {{- return(plan) -}}
{%- endmacro %}


{#- The plan as a comment of the compiled SQL, from which the strategy and the
    post-hook read it back (compiled_plan): they act on the plan the SQL was
    compiled with, never on a second look at tables that may have changed. -#}
{% macro plan_marker(plan) -%}
    /* sbdk incremental plan: {{ tojson(plan) }} */
{%- endmacro %}


{% macro compiled_plan() -%}
    {%- set marker = '/* sbdk incremental plan: ' -%}
    {%- if marker not in (compiled_code or '') -%}
        {{ exceptions.raise_compiler_error("sbdk: model " ~ this ~ " has no incremental plan in its compiled SQL (its SQL must render sbdk.plan_marker(plan))") }}
    {%- endif -%}
    {{- return(fromjson(compiled_code.split(marker, 1)[1].split(' */', 1)[0])) -}}
{%- endmacro %}


{#- Rows of the raw table loaded at or before `loaded_max` (a timestamp as text,
    none: no row had a loaded-at value), rows without a loaded-at value included. -#}
{% macro _rows_loaded_by(raw_relation, loaded_at, loaded_max) -%}
    {%- set condition = loaded_at ~ ' is null' -%}
    {%- if loaded_max is not none -%}
        {%- set condition = condition ~ ' or ' ~ loaded_at ~ ' <= ' ~ sbdk.timestamp_literal(loaded_max) -%}
    {%- endif -%}
    {%- set rows = run_query('select count(*) from ' ~ raw_relation ~ ' where ' ~ condition).rows -%}
    {{- return(rows[0][0] | int) -}}
{%- endmacro %}


{% macro timestamp_literal(text) -%}
    cast('{{ text }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- SQL: the raw rows loaded after the watermark of the plan. -#}
{% macro loaded_after_watermark(plan) -%}
    {%- if plan.loaded_max is none -%}
        {{ plan.loaded_at }} is not null
    {%- else -%}
        {{ plan.loaded_at }} > {{ sbdk.timestamp_literal(plan.loaded_max) }}
    {%- endif -%}
{%- endmacro %}


{#- SQL: timestamps in the band whose future_timestamp flag differs between the
    previous as_of_date and this one: [min + 1 day, max + 1 day). -#}
{% macro as_of_band(column, plan) -%}
    {%- if not plan.as_of_changed -%}
        1 = 0
    {%- else -%}
        {%- set dates = [plan.as_of_prev, sbdk.as_of_date_string()] | sort -%}
        {%- set lo = modules.datetime.datetime.strptime(dates[0], '%Y-%m-%d') + modules.datetime.timedelta(days=1) -%}
        {%- set hi = modules.datetime.datetime.strptime(dates[1], '%Y-%m-%d') + modules.datetime.timedelta(days=1) -%}
        ({{ column }} >= {{ sbdk.timestamp_literal(lo.strftime('%Y-%m-%d %H:%M:%S')) }}
            and {{ column }} < {{ sbdk.timestamp_literal(hi.strftime('%Y-%m-%d %H:%M:%S')) }})
    {%- endif -%}
{%- endmacro %}


{#- SQL: the users with rows in `relation` written after the plan's last build. -#}
{% macro users_rewritten_since(relation, plan) -%}
    select user_id from {{ relation }}
    where user_id is not null and dbt_updated_at > {{ sbdk.timestamp_literal(plan.built_at) }}
{%- endmacro %}


{#- SQL: whether any row of the relations was written after the plan's last build. -#}
{% macro rewritten_since(relations, plan) -%}
    {%- for relation in relations -%}
        exists (select 1 from {{ relation }} where dbt_updated_at > {{ sbdk.timestamp_literal(plan.built_at) }})
        {%- if not loop.last %} or {% endif -%}
    {%- endfor -%}
{%- endmacro %}


{#- Post-hook of every incremental model: write its state (inside its transaction). -#}
{% macro save_incremental_state(raw_relation=none) -%}
    {%- if not execute or not sbdk.incremental_enabled() -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set plan = sbdk.compiled_plan() -%}
    {%- set state_relation = sbdk.incremental_state_relation() -%}
    {%- if plan.incremental and raw_relation is not none
          and sbdk._rows_loaded_by(raw_relation, plan.loaded_at, plan.loaded_max) != (plan.loaded_rows | int) -%}
        {{ exceptions.raise_compiler_error("sbdk: " ~ raw_relation ~ " changed during the build of " ~ this.identifier ~ " (rows at or before its last watermark); nothing was written, and the next build rebuilds it in full") }}
    {%- endif -%}
    {%- set loaded_max = 'cast(null as ' ~ dbt.type_timestamp() ~ ')' -%}
    {%- set loaded_rows = 'cast(null as ' ~ dbt.type_bigint() ~ ')' -%}
    {%- if raw_relation is not none -%}
        {%- set loaded_at = sbdk.loaded_at_expression(raw_relation) -%}
        {%- if loaded_at is not none -%}
            {%- set row = run_query(
                'select cast(max(' ~ loaded_at ~ ') as ' ~ dbt.type_string() ~ '), count(*) from ' ~ raw_relation
            ).rows[0] -%}
            {%- if row[0] is not none -%}
                {%- set loaded_max = sbdk.timestamp_literal(row[0]) -%}
            {%- endif -%}
            {%- set loaded_rows = row[1] | int -%}
        {%- endif -%}
    {%- endif -%}
    create table if not exists {{ state_relation }} (
        model_name {{ dbt.type_string() }},
        built_at {{ dbt.type_timestamp() }},
        as_of_date {{ dbt.type_string() }},
        settings_hash {{ dbt.type_string() }},
        loaded_max {{ dbt.type_timestamp() }},
        loaded_rows {{ dbt.type_bigint() }}
    );
    {%- if not plan.incremental or (sbdk.model_setting('sbdk_unit') == 'all' and not plan.unchanged) %}
    {%- set descendants = sbdk._descendant_models() %}
    {%- if descendants %}
    {#- Rebuilt or replaced whole: a user (or a whole table) may have left it, which the
        models reading it cannot see in its rows; they rebuild in full too. #}
    delete from {{ state_relation }} where model_name in ('{{ descendants | join("', '") }}');
    {%- endif %}
    {%- endif %}
    delete from {{ state_relation }} where model_name = '{{ this.identifier }}';
    insert into {{ state_relation }} (model_name, built_at, as_of_date, settings_hash, loaded_max, loaded_rows)
    values (
        '{{ this.identifier }}',
        {{ sbdk.run_timestamp() }},
        '{{ sbdk.as_of_date_string() }}',
        '{{ sbdk.incremental_settings_hash() }}',
        {{ loaded_max }},
        {{ loaded_rows }}
    )
{%- endmacro %}


{#- The identifiers of the package's models that read this one, directly or not. -#}
{% macro _descendant_models() -%}
    {%- set models = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
                     | selectattr('package_name', 'equalto', 'sbdk') | list -%}
    {%- set found = [model.unique_id] -%}
    {%- set names = [] -%}
    {#- each pass finds at least the next level; there are fewer levels than models -#}
    {%- for _ in models -%}
        {%- for node in models -%}
            {%- if node.unique_id not in found and (node.depends_on.nodes | select('in', found) | list) -%}
                {%- do found.append(node.unique_id) -%}
                {%- do names.append(node.alias or node.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(names) -}}
{%- endmacro %}


{#- The incremental strategy of the package (`incremental_strategy='sbdk_replace'`).
    meta `sbdk_unit`:
    - 'user_id': every row of a user in the new rows, or with rows written in
      a model of `sbdk_upstream` after this model's last build, is replaced
      (so a user left with no row keeps none); when the as_of_date moved, the
      columns of sbdk.as_of_dependent_columns are then updated on every other row;
    - 'all': when the as_of_date moved or a model of `sbdk_upstream` has rows
      written after this model's last build, the table is replaced by the new
      rows; otherwise the new rows are empty and the table stays as it is.
    On a rebuild inside an incremental run (see incremental_plan) every row is
    replaced. -#}
{% macro get_incremental_sbdk_replace_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    {%- set unit = sbdk.model_setting('sbdk_unit', required=true) -%}
    {%- set plan = sbdk.compiled_plan() -%}
    {%- if unit not in ['user_id', 'all'] -%}
        {{ exceptions.raise_compiler_error("sbdk: unknown sbdk_unit '" ~ unit ~ "'") }}
    {%- endif -%}
    {%- if not plan.incremental or (unit == 'all' and not plan.unchanged) -%}
        delete from {{ target }};
    {%- elif unit == 'user_id' -%}
        delete from {{ target }}
        where
            user_id in (select user_id from {{ source }} where user_id is not null)
            {%- for name in sbdk.model_setting('sbdk_upstream', []) %}
            or user_id in ({{ sbdk.users_rewritten_since(ref('sbdk', name), plan) }})
            {%- endfor -%};
    {%- endif %}
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
    {%- set as_of_columns = sbdk.as_of_dependent_columns(model.name) if plan.incremental and plan.as_of_changed else {} %}
    {%- if as_of_columns -%};
    {#- The as_of_date moved: the as_of columns of every other row, recomputed in place
        (the new rows have them as of this date already). #}
    update {{ target }}
    set
        {%- for name, expression in as_of_columns.items() %}
        {{ adapter.quote(name) }} = {{ expression }},
        {%- endfor %}
        dbt_updated_at = {{ sbdk.run_timestamp() }}
    where user_id not in (select user_id from {{ source }} where user_id is not null)
    {%- endif %}
{%- endmacro %}


{#- The raw table an incremental staging model reads (meta `sbdk_raw`), or none. -#}
{% macro _raw_relation_of_model() -%}
    {%- set name = sbdk.model_setting('sbdk_raw') -%}
    {{- return(source('raw', name) if name else none) -}}
{%- endmacro %}


{#- Whether a model replaced as a whole (`sbdk_unit='all'`) must be rebuilt in
    this incremental build: the as_of_date moved, or a model it reads (meta
    `sbdk_upstream`) has rows written after its last build. -#}
{% macro _unit_all_changed(plan) -%}
    {%- if not plan.incremental or plan.as_of_changed -%}
        {{- return(true) -}}
    {%- endif -%}
    {%- set relations = [] -%}
    {%- for name in sbdk.model_setting('sbdk_upstream', required=true) -%}
        {%- do relations.append(ref('sbdk', name)) -%}
    {%- endfor -%}
    {%- set rows = run_query('select case when ' ~ sbdk.rewritten_since(relations, plan) ~ ' then 1 else 0 end').rows -%}
    {{- return((rows[0][0] | int) == 1) -}}
{%- endmacro %}


{#- Hooks of the staging models on PostgreSQL: their transaction runs at
    REPEATABLE READ, so the rows a model reads from its raw table and the
    watermark its post-hook stores come from one snapshot (a loader appending
    during the build cannot slip rows between the two). Nothing elsewhere:
    DuckDB transactions always read one snapshot. -#}
{% macro snapshot_hooks() -%}
    {%- if target.type == 'postgres' -%}
        {{- return({
            'pre': [{'sql': 'set session characteristics as transaction isolation level repeatable read', 'transaction': false}],
            'post': [{'sql': 'reset default_transaction_isolation', 'transaction': false}]
        }) -}}
    {%- endif -%}
    {{- return({'pre': [], 'post': []}) -}}
{%- endmacro %}
