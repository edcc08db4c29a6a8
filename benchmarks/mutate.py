"""SQL mutation run: how strong the SQL-facing tests are.

Each mutation below is a plausible bug, kept as data: a file of the dbt project, a piece
of its text, what replaces it, and the bug it stands for. The script copies the project
once, applies one mutation at a time to the copy, and runs the SQL-facing tests against it
(`pytest -x`, in parallel, with SBDK_PROJECT_DIR pointing at the copy). A mutation the tests
fail on is *killed* (the first failing test is named); one they pass on *survived*. The
score is killed / (mutations - equivalent ones). A mutation marked `equivalent` cannot
change any result the contract defines (the reason is given); it is still run, and being
killed would mean the reason is wrong.

    python benchmarks/mutate.py                    # every mutation, 2 workers
    python benchmarks/mutate.py --only ev-ses-gap-ge ev-dup-ts-desc --workers 2
    python benchmarks/mutate.py --list

It is not part of the default suite: a full run takes tens of minutes on 2 cores.
"""

# ruff: noqa: E501  (the mutations quote SQL lines verbatim)
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What the harness builds: the dbt project's own files (tests run from ROOT, unmutated).
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "tests", "seeds")
#: The SQL-facing tests, in two stages (the second runs only when the first passes): the
#: hand-computed scenarios and typed raw columns (seconds each), then the differential test
#: against the reference implementation on generated data and the incremental builds'
#: tests (arrival batches, faults, the arrival scenarios) and the metrics layer's. Each build runs the
#: package's data tests too.
SQL_TESTS = (
    ("python_tests/test_scenarios.py", "python_tests/test_typed_raw.py", "python_tests/test_generic_tests.py"),
    ("python_tests/test_differential.py", "python_tests/test_incremental.py", "python_tests/test_arrival_scenarios.py",
     "python_tests/test_metrics.py"),
)


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str
    find: str
    replace: str
    bug: str
    #: Why the mutation cannot change a result the contract defines (empty: it can).
    equivalent: str = ""


M = Mutation
MUTATIONS: list[Mutation] = [
    # ---- stg_users
    M("usr-email-no-lower", "models/staging/stg_users.sql",
      "lower({{ sbdk.clean_text('email') }}) as email_normalized", "{{ sbdk.clean_text('email') }} as email_normalized",
      "emails compared without lower-casing"),
    M("usr-future-gt", "models/staging/stg_users.sql",
      "when created_at >= {{ sbdk.as_of_end_timestamp() }} then 'future_timestamp'",
      "when created_at > {{ sbdk.as_of_end_timestamp() }} then 'future_timestamp'",
      "a signup at exactly midnight after as_of_date is not future"),
    M("usr-flag-order", "models/staging/stg_users.sql",
      "            when user_id is null then 'missing_id'\n            when created_at is null then 'missing_created_at'",
      "            when created_at is null then 'missing_created_at'\n            when user_id is null then 'missing_id'",
      "missing_created_at takes precedence over missing_id"),
    M("usr-dup-ts-desc", "models/staging/stg_users.sql",
      "                order by\n                    created_at,\n                    email_hash nulls last",
      "                order by\n                    created_at desc,\n                    email_hash nulls last",
      "the latest copy of a duplicate user id is kept"),
    M("usr-dup-tie-hash-first", "models/staging/stg_users.sql",
      "email_hash nulls last,", "email_hash nulls first,",
      "tie among duplicate users: a null email hash wins"),
    M("usr-dup-tie-country-desc", "models/staging/stg_users.sql",
      "country_code nulls last,", "country_code desc nulls last,",
      "tie among duplicate users: the larger country code wins"),
    M("usr-dup-tie-referrer-first", "models/staging/stg_users.sql",
      "referrer_source nulls last\n", "referrer_source nulls first\n",
      "tie among duplicate users: a null referrer wins"),
    M("usr-email-tie-desc", "models/staging/stg_users.sql",
      "order by created_at, user_id", "order by created_at, user_id desc",
      "tie among users sharing an email: the larger user_id is kept"),
    M("usr-email-ts-only", "models/staging/stg_users.sql",
      "order by created_at, user_id", "order by user_id",
      "the smaller user_id keeps a shared email, whatever the signup times"),
    M("usr-email-dup-first", "models/staging/stg_users.sql",
      "            when id_rank > 1 then 'duplicate_id'\n            when email_rank > 1 then 'duplicate_email'",
      "            when email_rank > 1 then 'duplicate_email'\n            when id_rank > 1 then 'duplicate_id'",
      "duplicate_email takes precedence over duplicate_id",
      "email_rank is computed only on rows with id_rank = 1, so no row has both"),
    M("usr-email-rank-all-rows", "models/staging/stg_users.sql",
      "            when early_flag is null and id_rank = 1 and email_hash is not null\n"
      "                then row_number() over (\n"
      "                    partition by\n"
      "                        email_hash,\n"
      "                        (early_flag is null and id_rank = 1)\n",
      "            when early_flag is null and email_hash is not null\n"
      "                then row_number() over (\n"
      "                    partition by\n"
      "                        email_hash,\n"
      "                        (early_flag is null)\n",
      "duplicate_email also counts rows already flagged duplicate_id (a later copy of a user takes the email)"),
    M("usr-domain-first-at", "models/staging/stg_users.sql",
      "nullif({{ sbdk.text_after_last('email_normalized', \"'@'\") }}, '')",
      "nullif({{ dbt.split_part('email_normalized', \"'@'\", 2) }}, '')",
      "email_domain after the first '@' instead of the last"),
    M("usr-signup-month-day", "models/staging/stg_users.sql",
      "cast(extract(month from created_at) as integer) as signup_month",
      "cast(extract(day from created_at) as integer) as signup_month",
      "signup_month reads the day"),
    # ---- stg_events
    M("ev-dup-ts-desc", "models/staging/stg_events.sql",
      "                order by\n                    event_timestamp,\n                    user_id nulls last",
      "                order by\n                    event_timestamp desc,\n                    user_id nulls last",
      "the latest copy of a duplicate event id is kept"),
    M("ev-dup-tie-user-first", "models/staging/stg_events.sql",
      "                    user_id nulls last,\n                    event_type nulls last",
      "                    user_id desc nulls last,\n                    event_type nulls last",
      "tie among duplicate events: the larger user_id wins"),
    M("ev-dup-tie-type-desc", "models/staging/stg_events.sql",
      "event_type nulls last,\n                    utm_source nulls last",
      "event_type desc nulls last,\n                    utm_source nulls last",
      "tie among duplicate events: the larger event_type wins"),
    M("ev-dup-tie-utm-first", "models/staging/stg_events.sql",
      "utm_source nulls last\n            )", "utm_source nulls first\n            )",
      "tie among duplicate events: a null utm_source wins"),
    M("ev-type-blank-null", "models/staging/stg_events.sql",
      "coalesce(lower({{ sbdk.clean_text('event_type') }}), 'unknown') as event_type",
      "lower({{ sbdk.clean_text('event_type') }}) as event_type",
      "a missing event type stays null instead of 'unknown'"),
    M("ev-category-default", "models/staging/stg_events.sql",
      "coalesce(event_categories.event_category, 'other') as event_category",
      "coalesce(event_categories.event_category, 'unknown') as event_category",
      "unmapped event types get category 'unknown' instead of 'other'"),
    M("ev-ses-gap-ge", "models/staging/stg_events.sql",
      "then 1\n            when {{ sbdk.seconds_between('previous_timestamp', 'event_timestamp') }} > {{ timeout_seconds }}",
      "then 1\n            when {{ sbdk.seconds_between('previous_timestamp', 'event_timestamp') }} >= {{ timeout_seconds }}",
      "a gap of exactly the timeout opens a new session"),
    M("ev-ses-lag-id-desc", "models/staging/stg_events.sql",
      "        lag(event_timestamp) over (\n            partition by user_id, data_quality_flag\n"
      "            order by event_timestamp, event_id\n",
      "        lag(event_timestamp) over (\n            partition by user_id, data_quality_flag\n"
      "            order by event_timestamp, event_id desc\n",
      "the previous event is found with ties broken by event_id descending: the session "
      "opening lands on another row of a tie group than the running count expects, which "
      "splits the group (first thought equivalent; the edge_extreme_values scenario kills it)"),
    M("ev-ses-window-ceil", "models/staging/stg_events.sql",
      "        floor(\n            {{ sbdk.seconds_between('activity_session_start', 'event_timestamp') }}",
      "        ceil(\n            {{ sbdk.seconds_between('activity_session_start', 'event_timestamp') }}",
      "session windows counted with ceil: the first event gets its own window"),
    M("ev-ses-no-window", "models/staging/stg_events.sql",
      "order by activity_session_number, window_number)", "order by activity_session_number)",
      "sessions are not cut at max_session_duration_hours"),
    M("ev-ses-start-min", "models/staging/stg_events.sql",
      "max(case when opens_session = 1 then event_timestamp end) over (",
      "min(event_timestamp) over (",
      "windows counted from the user's first event instead of the session's"),
    M("ev-hour-utc-day", "models/staging/stg_events.sql",
      "cast(extract(hour from sessions.event_timestamp) as integer) as event_hour",
      "cast(extract(minute from sessions.event_timestamp) as integer) as event_hour",
      "event_hour reads the minute"),
    # ---- shared flag precedence (events and orders)
    M("flag-unknown-before-dup", "macros/utils/flags.sql",
      "        when {{ id_rank }} > 1 then 'duplicate_id'\n        when {{ valid_user_id }} is null then 'unknown_user'",
      "        when {{ valid_user_id }} is null then 'unknown_user'\n        when {{ id_rank }} > 1 then 'duplicate_id'",
      "unknown_user takes precedence over duplicate_id"),
    M("flag-future-before-unknown", "macros/utils/flags.sql",
      "        when {{ valid_user_id }} is null then 'unknown_user'\n"
      "        when {{ activity_at }} >= {{ sbdk.as_of_end_timestamp() }} then 'future_timestamp'",
      "        when {{ activity_at }} >= {{ sbdk.as_of_end_timestamp() }} then 'future_timestamp'\n"
      "        when {{ valid_user_id }} is null then 'unknown_user'",
      "future_timestamp takes precedence over unknown_user"),
    M("flag-signup-before-future", "macros/utils/flags.sql",
      "        when {{ activity_at }} >= {{ sbdk.as_of_end_timestamp() }} then 'future_timestamp'\n"
      "        when {{ activity_at }} < {{ user_created_at }} then 'before_signup'",
      "        when {{ activity_at }} < {{ user_created_at }} then 'before_signup'\n"
      "        when {{ activity_at }} >= {{ sbdk.as_of_end_timestamp() }} then 'future_timestamp'",
      "before_signup takes precedence over future_timestamp",
      "a valid user signed up before the end of as_of_date, so no row is both before its "
      "user's signup and after the end of as_of_date"),
    M("flag-before-signup-le", "macros/utils/flags.sql",
      "when {{ activity_at }} < {{ user_created_at }} then 'before_signup'",
      "when {{ activity_at }} <= {{ user_created_at }} then 'before_signup'",
      "an event at exactly the signup time is before signup"),
    M("flag-future-gt", "macros/utils/flags.sql",
      "when {{ activity_at }} >= {{ sbdk.as_of_end_timestamp() }} then 'future_timestamp'",
      "when {{ activity_at }} > {{ sbdk.as_of_end_timestamp() }} then 'future_timestamp'",
      "an event at exactly midnight after as_of_date is not future"),
    # ---- stg_orders
    M("ord-amount-floor", "models/staging/stg_orders.sql",
      "round({{ sbdk.parse_amount('amount') }}, 2) as rounded_amount",
      "floor({{ sbdk.parse_amount('amount') }} * 100) / 100 as rounded_amount",
      "amounts truncated instead of rounded"),
    M("ord-min-amount-le", "models/staging/stg_orders.sql",
      "order_amount < {{ sbdk.number_var('min_order_amount') }} then 'invalid_amount'",
      "order_amount <= {{ sbdk.number_var('min_order_amount') }} then 'invalid_amount'",
      "an amount equal to min_order_amount is invalid"),
    M("ord-invalid-before-ts", "models/staging/stg_orders.sql",
      "            when ordered_at is null then 'missing_timestamp'\n"
      "            when order_amount is null or order_amount < {{ sbdk.number_var('min_order_amount') }} then 'invalid_amount'",
      "            when order_amount is null or order_amount < {{ sbdk.number_var('min_order_amount') }} then 'invalid_amount'\n"
      "            when ordered_at is null then 'missing_timestamp'",
      "invalid_amount takes precedence over missing_timestamp"),
    M("ord-dup-tie-amount-desc", "models/staging/stg_orders.sql",
      "order_amount nulls last,", "order_amount desc nulls last,",
      "tie among duplicate orders: the larger amount wins"),
    M("ord-dup-tie-category-desc", "models/staging/stg_orders.sql",
      "product_category nulls last,", "product_category desc nulls last,",
      "tie among duplicate orders: the larger category wins"),
    M("ord-dup-tie-payment-desc", "models/staging/stg_orders.sql",
      "payment_method nulls last\n", "payment_method desc nulls last\n",
      "tie among duplicate orders: the larger payment method wins"),
    M("ord-dup-tie-user-desc", "models/staging/stg_orders.sql",
      "                    user_id nulls last,\n                    order_amount nulls last",
      "                    user_id desc nulls last,\n                    order_amount nulls last",
      "tie among duplicate orders: the larger user_id wins"),
    M("ord-size-medium-lt", "models/staging/stg_orders.sql",
      "when flagged.order_amount <= 200 then 'medium'", "when flagged.order_amount < 200 then 'medium'",
      "an order of exactly 200 is large"),
    M("ord-size-small-le", "models/staging/stg_orders.sql",
      "when flagged.order_amount < 50 then 'small'", "when flagged.order_amount <= 50 then 'small'",
      "an order of exactly 50 is small"),
    M("ord-revenue-default", "models/staging/stg_orders.sql",
      "coalesce(revenue_types.revenue_type, 'one_time')", "coalesce(revenue_types.revenue_type, 'other')",
      "unmapped categories get revenue type 'other'"),
    M("ord-category-blank", "models/staging/stg_orders.sql",
      "coalesce(lower({{ sbdk.clean_dimension('product_category') }}), 'unknown') as product_category",
      "coalesce(lower({{ sbdk.clean_dimension('product_category') }}), 'other') as product_category",
      "a missing product category becomes 'other' instead of 'unknown'"),
    # ---- int_user_activity
    M("act-dormant-ge", "macros/incremental/as_of_columns.sql",
      "when {{ days_since_last_activity }} > {{ sbdk.number_var('dormant_after_days') }} then 'dormant'",
      "when {{ days_since_last_activity }} >= {{ sbdk.number_var('dormant_after_days') }} then 'dormant'",
      "dormant from exactly dormant_after_days"),
    M("act-active-gt", "macros/incremental/as_of_columns.sql",
      "{{ total_events }} >= {{ sbdk.number_var('active_user_min_events') }}",
      "{{ total_events }} > {{ sbdk.number_var('active_user_min_events') }}",
      "active needs more than active_user_min_events"),
    M("act-days-gt", "macros/incremental/as_of_columns.sql",
      "and {{ active_days }} >= {{ sbdk.number_var('active_user_min_days') }}",
      "and {{ active_days }} > {{ sbdk.number_var('active_user_min_days') }}",
      "active needs more than active_user_min_days"),
    M("act-engaged-gt", "macros/incremental/as_of_columns.sql",
      "when {{ total_events }} >= {{ sbdk.number_var('engaged_user_min_events') }} then 'engaged'",
      "when {{ total_events }} > {{ sbdk.number_var('engaged_user_min_events') }} then 'engaged'",
      "engaged needs more than engaged_user_min_events"),
    M("act-days-count", "models/intermediate/int_user_activity.sql",
      "count(distinct event_date) as active_days", "count(event_date) as active_days",
      "active_days counts events, not distinct dates"),
    M("act-last-first", "models/intermediate/int_user_activity.sql",
      "{{ sbdk.days_since_last_activity('last_event_at') }} as days_since_last_activity",
      "{{ sbdk.days_since_last_activity('first_event_at') }} as days_since_last_activity",
      "days since the first event instead of the last"),
    M("act-conversion-flip", "models/intermediate/int_user_activity.sql",
      "{{ sbdk.safe_ratio('purchase_events', 'pageviews') }} as purchase_conversion_rate",
      "{{ sbdk.safe_ratio('pageviews', 'purchase_events') }} as purchase_conversion_rate",
      "conversion rate inverted"),
    # ---- int_user_orders
    M("ord-pref-revenue-asc", "models/intermediate/int_user_orders.sql",
      "order by count(*) desc, sum(order_amount) desc, product_category",
      "order by count(*) desc, sum(order_amount), product_category",
      "preferred category tie goes to the smaller revenue"),
    M("ord-pref-alpha-desc", "models/intermediate/int_user_orders.sql",
      "order by count(*) desc, sum(order_amount) desc, product_category",
      "order by count(*) desc, sum(order_amount) desc, product_category desc",
      "preferred category tie goes to the last name alphabetically"),
    M("ord-pref-revenue-first", "models/intermediate/int_user_orders.sql",
      "order by count(*) desc, sum(order_amount) desc, product_category",
      "order by sum(order_amount) desc, count(*) desc, product_category",
      "preferred category by revenue before order count"),
    M("pay-pref-revenue-asc", "models/intermediate/int_user_orders.sql",
      "order by count(*) desc, sum(order_amount) desc, payment_method",
      "order by count(*) desc, sum(order_amount), payment_method",
      "preferred payment method tie goes to the smaller revenue"),
    M("pay-pref-alpha-desc", "models/intermediate/int_user_orders.sql",
      "order by count(*) desc, sum(order_amount) desc, payment_method",
      "order by count(*) desc, sum(order_amount) desc, payment_method desc",
      "preferred payment method tie goes to the last name alphabetically"),
    M("seg-high-ge", "models/intermediate/int_user_orders.sql",
      "when total_revenue > {{ sbdk.number_var('high_value_customer_threshold') }} then 'high_value'",
      "when total_revenue >= {{ sbdk.number_var('high_value_customer_threshold') }} then 'high_value'",
      "revenue exactly at the high-value threshold is high value"),
    M("seg-medium-ge", "models/intermediate/int_user_orders.sql",
      "when total_revenue > {{ sbdk.number_var('medium_value_customer_threshold') }} then 'medium_value'",
      "when total_revenue >= {{ sbdk.number_var('medium_value_customer_threshold') }} then 'medium_value'",
      "revenue exactly at the medium-value threshold is medium value"),
    M("buyer-repeat-lt", "models/intermediate/int_user_orders.sql",
      "when total_orders <= 5 then 'repeat_buyer'", "when total_orders < 5 then 'repeat_buyer'",
      "five orders make a loyal buyer"),
    M("uo-left-inner", "models/intermediate/int_user_orders.sql",
      "    from users\n    left join user_orders", "    from users\n    inner join user_orders",
      "users without orders dropped from int_user_orders"),
    # ---- int_event_sessions
    M("ses-first-id-desc", "models/intermediate/int_event_sessions.sql",
      "            order by event_timestamp, event_id\n        ) as position_from_start",
      "            order by event_timestamp, event_id desc\n        ) as position_from_start",
      "first event type: ties broken by the larger event_id"),
    M("ses-last-id-asc", "models/intermediate/int_event_sessions.sql",
      "order by event_timestamp desc, event_id desc", "order by event_timestamp desc, event_id",
      "last event type: ties broken by the smaller event_id"),
    M("ses-engaged-gt", "models/intermediate/int_event_sessions.sql",
      "when events_in_session >= 5 then 'engaged'", "when events_in_session > 5 then 'engaged'",
      "a session of exactly five events is not engaged"),
    M("ses-types-count", "models/intermediate/int_event_sessions.sql",
      "count(distinct event_type) as unique_event_types", "count(event_type) as unique_event_types",
      "unique_event_types counts events"),
    # ---- marts
    M("um-conversion-flip", "models/marts/user_metrics.sql",
      "{{ sbdk.safe_ratio('total_orders', 'pageviews') }} as overall_conversion_rate",
      "{{ sbdk.safe_ratio('pageviews', 'total_orders') }} as overall_conversion_rate",
      "overall conversion rate inverted"),
    M("um-score-cap", "macros/incremental/as_of_columns.sql",
      "        least(\n            100,", "        least(\n            1000,",
      "user_quality_score not capped at 100"),
    M("um-score-revenue-ge", "macros/incremental/as_of_columns.sql",
      "+ case when {{ total_revenue }} > 100 then 20 else 0 end",
      "+ case when {{ total_revenue }} >= 100 then 20 else 0 end",
      "a revenue of exactly 100 earns the revenue bonus"),
    M("um-daily-value-age", "macros/incremental/as_of_columns.sql",
      "when {{ customer_age_days }} > 0 then", "when {{ customer_age_days }} > 1 then",
      "daily_customer_value is 0 for a customer one day old"),
    M("cs-median-disc", "models/marts/cohort_summary.sql",
      "{{ sbdk.median('customer_age_days') }} as median_customer_age_days",
      "cast(min(customer_age_days) as {{ sbdk.type_double() }}) as median_customer_age_days",
      "median replaced by the minimum"),
    M("cs-engaged-only", "models/marts/cohort_summary.sql",
      "{{ sbdk.safe_ratio('active_users + engaged_users', 'cohort_size', 100) }}",
      "{{ sbdk.safe_ratio('engaged_users', 'cohort_size', 100) }}",
      "engaged retention leaves out active users"),
    M("cr-distinct", "models/marts/cohort_retention.sql",
      "    select distinct\n        user_id,", "    select\n        user_id,",
      "a user with two events in a month counted twice"),
    M("cr-bound-lt", "models/marts/cohort_retention.sql",
      "on month_offsets.n <= {{ dbt.datediff('cohorts.cohort_month', sbdk.as_of_date(), 'month') }}",
      "on month_offsets.n < {{ dbt.datediff('cohorts.cohort_month', sbdk.as_of_date(), 'month') }}",
      "retention months stop before the month of as_of_date"),
    M("ps-other-payment", "models/marts/product_summary.sql",
      "when payment_method not in ('credit_card', 'paypal', 'wire') then 1",
      "when payment_method not in ('credit_card', 'paypal', 'wire', 'unknown') then 1",
      "orders without a payment method not counted anywhere"),
    M("ps-buyers-count", "models/marts/product_summary.sql",
      "count(distinct user_id) as unique_buyers", "count(user_id) as unique_buyers",
      "unique_buyers counts orders"),
    M("ds-buyer-rate", "models/marts/daily_summary.sql",
      "{{ sbdk.safe_ratio('unique_buyers', 'active_users', 100) }} as buyer_rate_pct",
      "{{ sbdk.safe_ratio('unique_buyers', 'total_events', 100) }} as buyer_rate_pct",
      "buyer rate over events instead of active users"),
    M("ds-spine-no-orders", "models/marts/daily_summary.sql",
      "        union all\n        select\n            min(order_date) as first_day,\n"
      "            max(order_date) as last_day\n        from orders\n",
      "",
      "the day spine ignores days with orders only"),
    M("ds-spine-no-signups", "models/marts/daily_summary.sql",
      "        union all\n        select\n            min(signup_date) as first_day,\n"
      "            max(signup_date) as last_day\n        from signups\n",
      "",
      "the day spine ignores days with signups only"),
    M("dq-count-distinct", "models/marts/data_quality_summary.sql",
      "cast(count(*) as {{ dbt.type_bigint() }}) as row_count",
      "cast(count(distinct data_quality_flag) as {{ dbt.type_bigint() }}) as row_count",
      "data_quality_summary counts flags instead of rows"),
    # ---- incremental builds (macros/incremental/state.sql and the models' incremental branches)
    M("inc-ev-no-cross-user-copies", "models/staging/stg_events.sql",
      "    union\n"
      "    select user_id from {{ this }}\n"
      "    where\n"
      "        user_id is not null\n"
      "        and data_quality_flag not in {{ early_flags }}\n"
      "        and event_id in (select event_id from arrived where early_flag is null)\n",
      "",
      "a late copy of an event_id does not reprocess the other users holding a copy: the kept copy stays where it was"),
    M("inc-ev-no-other-copies-read", "models/staging/stg_events.sql",
      "        and event_id in (select event_id from copied_ids)\n",
      "        and 1 = 0\n",
      "the affected users' ids are ranked without the other users' copies"),
    M("inc-ev-copies-arrived-only", "models/staging/stg_events.sql",
      "            or event_id in (select event_id from {{ this }} where data_quality_flag = 'duplicate_id')\n",
      "",
      "only the ids that arrived are ranked with the other users' copies: an affected user's duplicate_id copy of an id kept elsewhere becomes a second kept copy"),
    M("inc-ord-copies-arrived-only", "models/staging/stg_orders.sql",
      "            or order_id in (select order_id from {{ this }} where data_quality_flag = 'duplicate_id')\n",
      "",
      "as inc-ev-copies-arrived-only, for orders"),
    M("inc-ev-no-late-users", "models/staging/stg_events.sql",
      "    select user_id from arrived where user_id is not null\n"
      "    union\n"
      "    {{ sbdk.users_rewritten_since(ref('sbdk', 'stg_users'), plan) }}\n"
      "    union\n"
      "    select user_id from {{ this }}\n"
      "    where\n"
      "        user_id is not null\n"
      "        and data_quality_flag not in {{ early_flags }}\n"
      "        and event_id in",
      "    select user_id from arrived where user_id is not null\n"
      "    union\n"
      "    select user_id from {{ this }}\n"
      "    where\n"
      "        user_id is not null\n"
      "        and data_quality_flag not in {{ early_flags }}\n"
      "        and event_id in",
      "a late user does not reprocess its earlier events: they stay unknown_user"),
    M("inc-ev-no-as-of-band", "models/staging/stg_events.sql",
      "    where user_id is not null and {{ sbdk.as_of_band('event_timestamp', plan) }}",
      "    where 1 = 0",
      "a moving as_of_date does not reprocess the events whose future_timestamp flag flips"),
    M("inc-ord-no-cross-user-copies", "models/staging/stg_orders.sql",
      "        and order_id in (select order_id from arrived where early_flag is null)\n",
      "        and 1 = 0\n",
      "a late copy of an order_id does not reprocess the other users holding a copy"),
    M("inc-usr-no-email-group", "models/staging/stg_users.sql",
      "    union\n"
      "    select user_id from {{ this }}\n"
      "    where\n"
      "        data_quality_flag in ('valid', 'duplicate_email')\n"
      "        and email_hash in (select email_hash from changed_emails)\n",
      "",
      "a duplicate email arriving with an earlier created_at leaves the existing user valid"),
    M("inc-ses-new-rows-only", "models/intermediate/int_event_sessions.sql",
      "        and user_id in ({{ sbdk.users_rewritten_since(ref('sbdk', 'stg_events'), plan) }})",
      "        and dbt_updated_at > {{ sbdk.timestamp_literal(plan.built_at) }}",
      "sessions recomputed from the rewritten events only, not the user's whole history (a bridging event's later sessions are not renumbered)",
      "stg_events rewrites every row of each user it reprocesses, so its rows written since a build are whole user histories"),
    M("inc-delete-by-output-keys", "macros/incremental/state.sql",
      "            {%- for name in sbdk.model_setting('sbdk_upstream', []) %}\n"
      "            or user_id in ({{ sbdk.users_rewritten_since(ref('sbdk', name), plan) }})\n"
      "            {%- endfor -%};",
      ";",
      "replace by the keys of the new rows: a user left with no row keeps its stale one"),
    M("inc-watermark-wall-clock", "macros/incremental/state.sql",
      "        {{ plan.loaded_at }} > {{ sbdk.timestamp_literal(plan.loaded_max) }}",
      "        {{ plan.loaded_at }} > {{ sbdk.timestamp_literal(plan.built_at) }}",
      "the watermark is the last build's wall-clock time, not the loaded-at values it read"),
    M("inc-watermark-inclusive", "macros/incremental/state.sql",
      "        {{ plan.loaded_at }} > {{ sbdk.timestamp_literal(plan.loaded_max) }}",
      "        {{ plan.loaded_at }} >= {{ sbdk.timestamp_literal(plan.loaded_max) }}",
      "the rows at the watermark are read again, and staged twice"),
    M("inc-hash-without-vars", "macros/incremental/state.sql",
      "        {%- do parts.append(name ~ '=' ~ (var(name, none) | string | trim)) -%}\n",
      "",
      "a threshold var that rewrites history does not trigger a full rebuild"),
    M("inc-no-deleted-row-check", "macros/incremental/state.sql",
      "        {%- if state[4] is none or sbdk._rows_loaded_by(raw_relation, plan.loaded_at, state[3]) != (state[4] | int) -%}",
      "        {%- if state[4] is none -%}",
      "a raw row deleted (or updated in place) is not detected"),
    M("inc-no-descendant-reset", "macros/incremental/state.sql",
      "    {%- if descendants %}",
      "    {%- if false %}",
      "a model rebuilt in full leaves the models reading it incremental: a user who left it keeps its rows downstream"),
    M("inc-act-as-of-others-stale", "macros/incremental/state.sql",
      "    {%- if as_of_columns -%};",
      "    {%- if false -%};",
      "a moving as_of_date leaves the other users' days_since_last_activity and lifecycle stage as they were"),
    M("inc-um-days-not-moved", "macros/incremental/as_of_columns.sql",
      "    ({{ days }} + {{ (now - before).days }})", "    ({{ days }})",
      "a moving as_of_date leaves user_metrics' days_since_last_activity as it was (and the stage and score that follow from it)"),
    M("inc-redate-new-rows-too", "macros/incremental/state.sql",
      "    where user_id not in (select user_id from {{ source }} where user_id is not null)\n    {%- endif %}",
      "    {%- endif %}",
      "the in-place as_of update also moves the rows just recomputed as of the new date (user_metrics' days since counted twice)"),
    M("inc-um-no-order-users", "models/marts/user_metrics.sql",
      "    union\n    {{ sbdk.users_rewritten_since(ref('sbdk', 'stg_orders'), plan) }}\n",
      "",
      "user_metrics does not recompute the users whose orders alone changed"),
    M("inc-act-as-of-stage-stale", "macros/incremental/as_of_columns.sql",
      "            'user_lifecycle_stage': sbdk.user_lifecycle_stage('total_events', 'active_days', days)\n",
      "",
      "a moving as_of_date updates days_since_last_activity in place but not the lifecycle stage that depends on it"),
    M("inc-marts-ignore-as-of", "macros/incremental/state.sql",
      "    {%- if not plan.incremental or plan.as_of_changed -%}\n        {{- return(true) -}}",
      "    {%- if not plan.incremental -%}\n        {{- return(true) -}}",
      "a mart replaced as a whole is not rebuilt when only the as_of_date moved"),
    M("inc-state-from-build-time", "macros/incremental/state.sql",
      "        'as_of_changed': state[1] != sbdk.as_of_date_string(), 'loaded_max': state[3],",
      "        'as_of_changed': false, 'loaded_max': state[3],",
      "the as_of_date of the last build is ignored: rows whose flags depend on it are not reprocessed"),
    M("inc-ses-by-session-key", "models/intermediate/int_event_sessions.sql",
      "{{ config(meta={'sbdk_unit': 'user_id', 'sbdk_upstream': ['stg_events']}) }}",
      "{{ config(meta={'sbdk_unit': 'user_id', 'sbdk_upstream': ['stg_events']}, incremental_strategy='delete+insert', unique_key='session_id') }}",
      "sessions replaced by the session_ids of the new rows (dbt's delete+insert): a session renumbered away keeps its stale row"),
    M("inc-ev-append-only", "models/staging/stg_events.sql",
      "    meta={'sbdk_raw': 'raw_events', 'sbdk_unit': 'user_id'},",
      "    meta={'sbdk_raw': 'raw_events', 'sbdk_unit': 'user_id'}, incremental_strategy='append',",
      "stg_events appends what it recomputes (dbt's append strategy): the rows it replaces stay beside the new ones"),
    # ---- the metrics layer (models/semantic/): measures, metrics, the models they read
    M("mf-sessions-not-distinct", "models/semantic/_semantic_models.yml",
      "        agg: count_distinct\n        expr: session_id", "        agg: count\n        expr: session_id",
      "sessions counted as events with a session (count, not count_distinct)"),
    M("mf-active-users-not-distinct", "models/semantic/_semantic_models.yml",
      "        description: Distinct users with a valid event.\n        agg: count_distinct",
      "        description: Distinct users with a valid event.\n        agg: count",
      "active users counted as their events"),
    M("mf-buyers-not-distinct", "models/semantic/_semantic_models.yml",
      "        description: Distinct users with a valid order.\n        agg: count_distinct",
      "        description: Distinct users with a valid order.\n        agg: count",
      "buyers counted as their orders (and so the conversion metric counts orders)"),
    M("mf-pageviews-with-clicks", "models/semantic/_semantic_models.yml",
      "expr: case when event_type = 'pageview' then 1 end", "expr: case when event_type in ('pageview', 'click') then 1 end",
      "clicks counted as pageviews (the conversion rates' denominator)"),
    M("mf-revenue-counted", "models/semantic/_semantic_models.yml",
      "        agg: sum\n        expr: order_amount", "        agg: max\n        expr: order_amount",
      "revenue as the largest order instead of the sum"),
    M("mf-order-conversion-over-events", "models/semantic/_metrics.yml",
      "      numerator: sbdk_orders\n      denominator: sbdk_pageviews", "      numerator: sbdk_orders\n      denominator: sbdk_events",
      "order conversion over all events instead of pageviews"),
    M("mf-buyer-rate-over-signups", "models/semantic/_metrics.yml",
      "      numerator: sbdk_buyers\n      denominator: sbdk_active_users", "      numerator: sbdk_buyers\n      denominator: sbdk_signups",
      "buyer rate over the day's signups instead of its active users"),
    M("mf-aov-over-buyers", "models/semantic/_metrics.yml",
      "      numerator: sbdk_revenue\n      denominator: sbdk_orders", "      numerator: sbdk_revenue\n      denominator: sbdk_buyers",
      "average order value over buyers instead of orders"),
    M("mf-conversion-window-31", "models/semantic/_metrics.yml",
      "window: 30 days", "window: 31 days",
      "an order on the 30th day after the signup converts"),
    M("mf-revenue-to-date-window", "models/semantic/_metrics.yml",
      "    type: cumulative\n    type_params:\n", "    type: cumulative\n    type_params:\n      window: 7 days\n",
      "revenue to date as a trailing 7 days' revenue"),
    M("mf-orders-null-not-0", "models/semantic/_metrics.yml",
      "        name: sbdk_orders\n        fill_nulls_with: 0\n", "        name: sbdk_orders\n",
      "orders null instead of 0 on a day with events but no order"),
    M("mf-valid-events-every-row", "models/semantic/valid_events.sql",
      "where data_quality_flag = 'valid'", "where data_quality_flag is not null",
      "the metrics count the events that are not valid too"),
    M("mf-valid-orders-every-row", "models/semantic/valid_orders.sql",
      "where data_quality_flag = 'valid'", "where data_quality_flag != 'invalid_amount'",
      "the metrics count orders that are not valid (but have an amount) too"),
    M("mf-spine-ends-a-day-early", "models/semantic/sbdk_time_spine.sql",
      "cast('{{ last_day }}' as date) as last_day", "cast('{{ last_day }}' as date) - 1 as last_day",
      "the time spine ends the day before as_of_date: revenue to date has no row for the last day"),
    # ---- generic tests (macros/generic_tests/)
    M("gt-range-inclusive-strict", "macros/generic_tests/accepted_range.sql",
      "{{ '>=' if inclusive else '>' }}", "{{ '>' if inclusive else '>' }}",
      "accepted_range: the min bound itself fails though the range is inclusive"),
    M("gt-range-max-ignored", "macros/generic_tests/accepted_range.sql",
      "        and {{ column_name }} {{ '<=' if inclusive else '<' }} {{ max_value }}\n", "",
      "accepted_range: max_value ignored (only the min bound is checked)"),
    M("gt-range-exclusive-ignored", "macros/generic_tests/accepted_range.sql",
      "{{ '<=' if inclusive else '<' }}", "{{ '<=' }}",
      "accepted_range: `inclusive: false` ignored at the max bound (the bound itself passes)"),
    M("gt-combo-first-column", "macros/generic_tests/unique_combination_of_columns.sql",
      "{%- set columns = combination_of_columns | join(', ') %}",
      "{%- set columns = combination_of_columns[:1] | join(', ') %}",
      "unique_combination_of_columns: only the first column of the combination is grouped by"),
    M("gt-combo-no-having", "macros/generic_tests/unique_combination_of_columns.sql",
      "having count(*) > 1\n", "",
      "unique_combination_of_columns: every combination is reported, duplicated or not"),
    M("gt-combo-twice-passes", "macros/generic_tests/unique_combination_of_columns.sql",
      "having count(*) > 1", "having count(*) > 2",
      "unique_combination_of_columns: a combination occurring twice passes"),
    M("gt-seq-at-signup-fails", "macros/generic_tests/valid_event_sequence.sql",
      "    and events.{{ column_name }} < users.{{ user_created_at }}",
      "    and events.{{ column_name }} <= users.{{ user_created_at }}",
      "valid_event_sequence: an event at the very instant of the signup fails"),
    M("gt-seq-any-user", "macros/generic_tests/valid_event_sequence.sql",
      "    and users.{{ flag_column }} = 'valid'\n", "",
      "valid_event_sequence: the events of users who are not valid are checked too"),
    M("gt-seq-any-event", "macros/generic_tests/valid_event_sequence.sql",
      "where events.{{ flag_column }} = 'valid'\n    and users.", "where users.",
      "valid_event_sequence: events that are not valid are checked too"),
    M("gt-ses-minutes-as-hours", "macros/generic_tests/reasonable_session_duration.sql",
      "where {{ column_name }} > {{ hours }} * 60", "where {{ column_name }} > {{ hours }}",
      "reasonable_session_duration: the duration in minutes compared with the limit in hours"),
    M("gt-ses-limit-fails", "macros/generic_tests/reasonable_session_duration.sql",
      "where {{ column_name }} > {{ hours }} * 60", "where {{ column_name }} >= {{ hours }} * 60",
      "reasonable_session_duration: a session of exactly the limit fails"),
    M("gt-ses-max-hours-ignored", "macros/generic_tests/reasonable_session_duration.sql",
      "{%- set hours = max_hours if max_hours is not none else sbdk.number_var('max_session_duration_hours', 12) %}",
      "{%- set hours = sbdk.number_var('max_session_duration_hours', 12) %}",
      "reasonable_session_duration: max_hours ignored (always the var)"),
    M("gt-parse-amount-presence", "macros/generic_tests/values_parse.sql",
      "    {%- set parsed = sbdk.parse_amount(column_name) -%}",
      "    {%- set parsed = sbdk.clean_text(column_name) -%}",
      "values_parse: kind amount only checks that a value is there (any text passes)"),
    M("gt-parse-ts-presence", "macros/generic_tests/values_parse.sql",
      "    {%- set parsed = sbdk.parse_timestamp(column_name, dtype) -%}",
      "    {%- set parsed = sbdk.clean_text(column_name) -%}",
      "values_parse: kind timestamp only checks that a value is there (any text passes)"),
    M("gt-parse-id-type-ignored", "macros/generic_tests/values_parse.sql",
      "    {%- set parsed = sbdk.parse_id(column_name, dtype) -%}",
      "    {%- set parsed = sbdk.parse_id(column_name, none) -%}",
      "values_parse: the column's type ignored, a typed id read as text (17.0 in a float column is unparsable)"),
    M("gt-parse-allow-null-not-blank", "macros/generic_tests/values_parse.sql",
      "    and {{ sbdk.clean_text(column_name) }} is not null", "    and {{ column_name }} is not null",
      "values_parse: allow_null lets nulls pass but not blanks"),
    M("gt-cnn-column-level-only", "macros/generic_tests/contract_not_null.sql",
      "        {%- for constraint in node.constraints if constraint.type == 'not_null' -%}\n"
      "            {%- for name in constraint.columns if name not in names -%}\n"
      "                {%- do names.append(name) -%}\n"
      "            {%- endfor -%}\n"
      "        {%- endfor -%}\n",
      "",
      "contract_not_null: a model-level not_null constraint is not checked"),
    M("gt-cnn-first-column-only", "macros/generic_tests/contract_not_null.sql",
      "{%- for column in columns %}", "{%- for column in columns[:1] %}",
      "contract_not_null: only the first constrained column is checked"),
    M("gt-cnn-one-null-passes", "macros/generic_tests/contract_not_null.sql",
      "having count(*) > 0", "having count(*) > 1",
      "contract_not_null: a column with a single null passes"),
    M("gt-pii-text-type-only", "macros/generic_tests/no_personal_data.sql",
      "if sbdk.is_text_column(column)", "if column.dtype | lower == 'text'",
      "no_personal_data: only columns of type `text` are read (varchar and char columns are not)"),
    M("gt-pii-whole-address-only", "macros/generic_tests/no_personal_data.sql",
      "like '%@%'", "like '%_@_%._%'",
      "no_personal_data: only a whole address (x@y.z) fails, a piece of one ('@handle', 'carol@') passes"),
    # ---- shared macros (the DuckDB version where a macro is dispatched: the run builds on DuckDB)
    M("mac-id-decimal", "macros/parsing/parse_id.sql",
      "regexp_full_match({{ text }}, '[+-]?[0-9]+')", "regexp_full_match({{ text }}, '[+-]?[0-9.]+')",
      "an id written with a decimal point (17.5) is read, rounded, instead of missing"),
    M("mac-id-typed-fraction", "macros/parsing/parse_id.sql",
      "            and cast({{ column }} as double) = floor(cast({{ column }} as double))\n", "",
      "a typed fractional id (17.5) is read, rounded, instead of missing"),
    M("mac-amount-no-exponent", "macros/parsing/parse_amount.sql",
      "[.][0-9]+)([eE][+-]?[0-9]+)?')", "[.][0-9]+)')",
      "an amount with an exponent (1e2) is not a number"),
    M("mac-ts-offset-sign", "macros/parsing/parse_timestamp.sql",
      "                when '+' then 1\n                when '-' then -1\n",
      "                when '+' then -1\n                when '-' then 1\n",
      "a UTC offset applied the wrong way"),
    M("mac-ts-offset-ignored", "macros/parsing/parse_timestamp.sql",
      "                when '+' then 1\n                when '-' then -1\n                else 0\n",
      "                when '+' then 0\n                when '-' then 0\n                else 0\n",
      "a UTC offset dropped (what DuckDB's try_cast does)"),
    M("mac-text-no-trim", "macros/parsing/raw_columns.sql",
      "nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '')",
      "nullif(cast({{ column }} as {{ dbt.type_string() }}), '')",
      "raw text is not trimmed (' 42 ' is no id, '  ' is no blank)"),
    M("mac-dimension-keeps-at", "macros/parsing/raw_columns.sql",
      "when {{ dbt.position(\"'@'\", sbdk.clean_text(column)) }} = 0 then",
      "when {{ dbt.position(\"'@'\", sbdk.clean_text(column)) }} >= 0 then",
      "a dimension holding an email address reaches the marts"),
    M("mac-spine-last-day", "macros/cross_db/day_spine.sql",
      "cast({{ bounds }}.{{ last_day }} as timestamp) + interval 1 day,",
      "cast({{ bounds }}.{{ last_day }} as timestamp),",
      "the day spine stops before its last day"),
    M("mac-range-exclusive", "macros/cross_db/integer_range.sql",
      "range(0, cast({{ bounds }}.{{ upper }} as bigint) + 1)", "range(0, cast({{ bounds }}.{{ upper }} as bigint))",
      "the integer range (months since signup) stops before its upper bound"),
    M("mac-dow-iso", "macros/cross_db/day_of_week.sql",
      "cast(dayofweek({{ ts }}) as integer)", "cast(isodow({{ ts }}) as integer)",
      "day_of_week in ISO numbering (Sunday = 7)"),
    M("mac-seconds-whole", "macros/cross_db/seconds_between.sql",
      "((epoch_us({{ end }}) - epoch_us({{ start }})) / 1000000.0)",
      "cast(datediff('second', {{ start }}, {{ end }}) as double)",
      "durations in whole seconds counted as boundaries (dbt.datediff), fractions of a second lost"),
    M("mac-ratio-null", "macros/cross_db/safe_ratio.sql",
      "nullif(cast({{ denominator }} as {{ sbdk.type_double() }}), 0),\n        0\n",
      "nullif(cast({{ denominator }} as {{ sbdk.type_double() }}), 0),\n        null\n",
      "a ratio over a zero denominator is null instead of 0"),
    M("mac-median-disc", "macros/cross_db/median.sql",
      "cast(quantile_cont({{ expression }}, 0.5) as double)", "cast(quantile_disc({{ expression }}, 0.5) as double)",
      "the median is the discrete one (a value of the set) instead of the continuous one"),
    M("mac-after-last-keeps-sep", "macros/cross_db/text_after_last.sql",
      "dbt.position(separator, 'reverse(' ~ text ~ ')') ~ ' - 1')", "dbt.position(separator, 'reverse(' ~ text ~ ')'))",
      "the text after the last separator keeps the separator (email_domain '@example.com')"),
]


def inapplicable(mutations: list[Mutation], root: Path = ROOT) -> list[str]:
    """The mutations whose text does not occur exactly once in their file (after an edit of
    the models, say), each with the count: they would measure nothing."""
    problems = []
    for m in mutations:
        path = root / m.file
        count = path.read_text().count(m.find) if path.is_file() else 0
        if count != 1:
            problems.append(f"{m.id}: the text to replace occurs {count} times in {m.file}")
    return problems


def copy_project(dest: Path) -> None:
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.exists():
            shutil.copy2(src, dest / name)


def run_tests(project: Path, workers: int, stages: list[list[str]]) -> tuple[int, str, float]:
    """Run the stages in order until one fails; (exit code, output, seconds) of the last one run."""
    env = {**os.environ, "SBDK_PROJECT_DIR": str(project), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    t0 = time.perf_counter()
    for tests in stages:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--slow", "-n", str(workers), *tests],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )
        if proc.returncode != 0:
            break
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - t0


def first_failure(output: str) -> str:
    found = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.MULTILINE)
    return found.group(1) if found else "(no test named)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", default=None, help="ids of the mutations to run")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (default 2)")
    parser.add_argument("--tests", nargs="+", default=None,
                        help="test files to run per mutation, in one stage (default: the SQL-facing tests)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = parser.parse_args(argv)

    ids = [m.id for m in MUTATIONS]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise SystemExit(f"duplicate mutation ids: {duplicated}")
    chosen = [m for m in MUTATIONS if args.only is None or m.id in args.only]
    unknown = set(args.only or ()) - set(ids)
    if unknown:
        raise SystemExit(f"unknown mutation ids: {sorted(unknown)}")
    problems = inapplicable(chosen)
    if problems:
        raise SystemExit("mutations that no longer apply (update their text):\n  " + "\n  ".join(problems))
    stages = [args.tests] if args.tests else [list(stage) for stage in SQL_TESTS]
    if args.list:
        for m in chosen:
            print(f"{m.id:<28} {m.file:<45} {m.bug}" + (f"  [equivalent: {m.equivalent}]" if m.equivalent else ""))
        return 0

    with tempfile.TemporaryDirectory(prefix="sbdk-mutate-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        copy_project(project)
        code, output, seconds = run_tests(project, args.workers, stages)
        if code != 0:
            print(output[-4000:])
            raise SystemExit(f"the tests fail on the unmutated project ({seconds:.0f} s): fix that first")
        print(f"unmutated project: tests pass in {seconds:.0f} s; {len(chosen)} mutations", flush=True)

        results: dict[str, list[Mutation]] = {"killed": [], "survived": [], "error": []}
        for n, m in enumerate(chosen, 1):
            path = project / m.file
            original = path.read_text()
            path.write_text(original.replace(m.find, m.replace))
            try:
                code, output, seconds = run_tests(project, args.workers, stages)
            finally:
                path.write_text(original)
            # with -x, xdist ends the session early after the first failure (exit 2, "interrupted")
            if code in (1, 2) and re.search(r"^(FAILED|ERROR) ", output, re.MULTILINE):
                outcome, detail = "killed", f"by {first_failure(output)}"
            elif code == 0:
                outcome, detail = "survived", (f"(equivalent: {m.equivalent})" if m.equivalent else f"-- {m.bug}")
            else:
                outcome, detail = "error", f"pytest exit {code}: {output.strip().splitlines()[-1:]}"
            results[outcome].append(m)
            print(f"[{n:>2}/{len(chosen)}] {outcome.upper():<8} {m.id:<28} {seconds:5.0f} s  {detail}", flush=True)

    killed, survived = results["killed"], results["survived"]
    equivalent_killed = [m for m in killed if m.equivalent]
    counted = len(chosen) - len(results["error"]) - sum(1 for m in survived if m.equivalent)
    score = len(killed) / counted if counted else 0.0
    print(f"\n{len(killed)} killed, {len(survived)} survived "
          f"({sum(1 for m in survived if m.equivalent)} of them equivalent), {len(results['error'])} errors")
    print(f"mutation score: {len(killed)}/{counted} = {100 * score:.1f}% of the non-equivalent mutations killed")
    for m in survived:
        if not m.equivalent:
            print(f"  survived: {m.id} ({m.file}): {m.bug}")
    for m in equivalent_killed:
        print(f"  marked equivalent but killed (the reason is wrong): {m.id}")
    return 0 if not results["error"] and not equivalent_killed else 1


if __name__ == "__main__":
    sys.exit(main())
