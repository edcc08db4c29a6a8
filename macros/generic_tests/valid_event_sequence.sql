{#- No valid event happens before its user's signup: fails on each valid event
    (in `model`, timestamp `column_name`) earlier than the `created_at` of its
    valid user in `users`.
    Implementations: default__ only (portable SQL, every engine). -#}
{% test valid_event_sequence(model, column_name, users, user_created_at='created_at', flag_column='data_quality_flag') %}
    {{ return(adapter.dispatch('test_valid_event_sequence', 'sbdk')(model, column_name, users, user_created_at, flag_column)) }}
{% endtest %}

{% macro default__test_valid_event_sequence(model, column_name, users, user_created_at, flag_column) %}
select
    events.user_id,
    events.{{ column_name }} as event_at,
    users.{{ user_created_at }} as user_created_at
from {{ model }} as events
inner join {{ users }} as users
    on events.user_id = users.user_id
where events.{{ flag_column }} = 'valid'
    and users.{{ flag_column }} = 'valid'
    and events.{{ column_name }} < users.{{ user_created_at }}
{% endmacro %}
