{#- Columns that depend on the as_of_date and on other columns of their own
    row only. The models compute them with these macros; when the as_of_date
    moved since an incremental build, the strategy (sbdk_replace) recomputes
    them in place on every row with the same macros, instead of rewriting the
    rows of every user (see docs/incremental.md, "The as_of band"). -#}

{#- Days from the date of `last_event_at` to as_of_date; null without events. -#}
{% macro days_since_last_activity(last_event_at) -%}
    case
        when {{ last_event_at }} is not null
            then cast(
                {{ dbt.datediff('cast(' ~ last_event_at ~ ' as date)', sbdk.as_of_date(), 'day') }}
                as {{ dbt.type_bigint() }}
            )
    end
{%- endmacro %}


{#- The lifecycle stage of the contract, first match (see int_user_activity's description). -#}
{% macro user_lifecycle_stage(total_events, active_days, days_since_last_activity) -%}
    case
        when {{ total_events }} = 0 then 'inactive'
        when {{ days_since_last_activity }} > {{ sbdk.number_var('dormant_after_days') }} then 'dormant'
        when
            {{ total_events }} >= {{ sbdk.number_var('active_user_min_events') }}
            and {{ active_days }} >= {{ sbdk.number_var('active_user_min_days') }}
            then 'active'
        when {{ total_events }} >= {{ sbdk.number_var('engaged_user_min_events') }} then 'engaged'
        else 'new'
    end
{%- endmacro %}


{#- Calendar days from `signup_date` to as_of_date. -#}
{% macro customer_age_days(signup_date) -%}
    cast({{ dbt.datediff(signup_date, sbdk.as_of_date(), 'day') }} as {{ dbt.type_bigint() }})
{%- endmacro %}


{#- Revenue per day of customer age; 0 for a customer not yet a day old. -#}
{% macro daily_customer_value(total_revenue, customer_age_days) -%}
    case
        when {{ customer_age_days }} > 0 then {{ sbdk.safe_ratio(total_revenue, customer_age_days) }}
        else cast(0 as {{ sbdk.type_double() }})
    end
{%- endmacro %}


{#- least(100, 2 active days + 5 orders + 20 if revenue > 100 + 15 if the stage is active). -#}
{% macro user_quality_score(active_days, total_orders, total_revenue, user_lifecycle_stage) -%}
    cast(
        least(
            100,
            {{ active_days }} * 2
            + {{ total_orders }} * 5
            + case when {{ total_revenue }} > 100 then 20 else 0 end
            + case when {{ user_lifecycle_stage }} = 'active' then 15 else 0 end
        )
        as {{ dbt.type_bigint() }}
    )
{%- endmacro %}


{#- The as_of columns of a model of the package, {column: SQL over the row's
    other columns}, for the in-place update; empty for the other models. -#}
{% macro as_of_dependent_columns(model_name) -%}
    {%- if model_name == 'int_user_activity' -%}
        {%- set days = sbdk.days_since_last_activity('last_event_at') -%}
        {{- return({
            'days_since_last_activity': days,
            'user_lifecycle_stage': sbdk.user_lifecycle_stage('total_events', 'active_days', days)
        }) -}}
    {%- elif model_name == 'user_metrics' -%}
        {#- The row has no last event time: the days since it move with the date. -#}
        {%- set days = sbdk._days_moved('days_since_last_activity') -%}
        {%- set stage = sbdk.user_lifecycle_stage('total_events', 'active_days', days) -%}
        {%- set age = sbdk.customer_age_days('signup_date') -%}
        {{- return({
            'days_since_last_activity': days,
            'user_lifecycle_stage': stage,
            'customer_age_days': age,
            'daily_customer_value': sbdk.daily_customer_value('total_revenue', age),
            'user_quality_score': sbdk.user_quality_score('active_days', 'total_orders', 'total_revenue', stage)
        }) -}}
    {%- endif -%}
    {{- return({}) -}}
{%- endmacro %}


{#- A count of days to as_of_date, moved from the previous build's as_of_date to this
    one's: (as_of_date - previous as_of_date) days added; null stays null. -#}
{% macro _days_moved(days) -%}
    {%- set plan = sbdk.compiled_plan() -%}
    {%- set before = modules.datetime.datetime.strptime(plan.as_of_prev, '%Y-%m-%d') -%}
    {%- set now = modules.datetime.datetime.strptime(sbdk.as_of_date_string(), '%Y-%m-%d') -%}
    ({{ days }} + {{ (now - before).days }})
{%- endmacro %}
