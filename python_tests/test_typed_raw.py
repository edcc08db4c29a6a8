"""Raw tables whose columns arrive typed (not text): integers wider than 64 bits,
doubles as ids and amounts (NaN, infinity, non-integral), dates and timestamps
with a time zone. Nothing crashes the build, and every model matches the
independent implementation of the contract."""

from __future__ import annotations

from datetime import date

import duckdb

from harness import (
    HARNESS_AS_OF_DATE,
    Scenario,
    assert_all,
    assert_build_ok,
    assert_invariants,
    assert_rows_equal,
    models_built,
    project_facts,
    read_raw_rows,
)
from reference.contract import compute
from sbdk.defaults import DUCKDB_FILE
from sbdk.engines import DuckDBEngine

RAW_SQL = """
create schema raw;
set timezone = 'UTC';
create table raw.raw_users (
    user_id hugeint, email varchar, name varchar, country varchar, referrer varchar, created_at timestamptz
);
insert into raw.raw_users values
    (1, 'a@x.com', 'A', 'fr', 'google', '2025-03-01 10:00:00+02:00'),
    (2, 'b@x.com', 'B', 'de', 'direct', '2025-03-02 00:30:00-01:00'),
    (170141183460469231731687303715884105727, 'c@x.com', 'C', 'us', null, '2025-03-03 10:00:00+00:00'),
    (3, 'd@x.com', 'D', 'us', null, null);
create table raw.raw_events (
    event_id double, user_id ubigint, event_type varchar, "timestamp" date, utm_source varchar
);
insert into raw.raw_events values
    (1.0, 1, 'pageview', '2025-03-02', null),
    (2.5, 1, 'click', '2025-03-02', null),
    ('nan', 1, 'click', '2025-03-02', null),
    (3e30, 1, 'click', '2025-03-02', null),
    (4, 2, 'purchase', '2025-03-05', 'ads'),
    (5, 18446744073709551615, 'login', '2025-03-05', null);
create table raw.raw_orders (
    order_id integer, user_id bigint, amount double, product_category varchar, payment_method varchar,
    created_at timestamp
);
insert into raw.raw_orders values
    (1, 1, 49.995, 'addon', 'paypal', '2025-03-02 12:00:00'),
    (2, 1, 'nan', 'addon', 'paypal', '2025-03-02 12:00:00'),
    (3, 1, 'inf', 'addon', 'paypal', '2025-03-02 12:00:00'),
    (4, 2, 1e9, 'subscription', 'credit_card', '2025-03-06 12:00:00'),
    (5, 2, 0.004, 'subscription', 'credit_card', '2025-03-06 12:00:00'),
    (6, 2, 1e20, 'subscription', 'credit_card', '2025-03-06 12:00:00');
"""


def test_typed_raw_columns_match_the_reference(dbt_project, tmp_path) -> None:
    db_path = tmp_path / DUCKDB_FILE
    with duckdb.connect(str(db_path)) as conn:
        conn.execute(RAW_SQL)
    engine = DuckDBEngine(db_path)
    scenario = Scenario(engine=engine, outcome=dbt_project.build(engine), facts=project_facts(dbt_project))
    expected = compute(read_raw_rows(db_path), date.fromisoformat(HARNESS_AS_OF_DATE))
    checks = [lambda: assert_build_ok(scenario)]
    if models_built(scenario):
        checks.append(lambda: assert_invariants(scenario))
        checks += [
            lambda m=model, rows=rows: assert_rows_equal(m, rows, scenario.rows(m), key=scenario.key(m))
            for model, rows in expected.items()
        ]
    assert_all("typed raw columns", checks)
    flags = {
        (r["source_table"], r["data_quality_flag"]): r["row_count"] for r in scenario.rows("data_quality_summary")
    }
    # Hand-counted: the hugeint user and the ubigint event are missing ids; 2.5, NaN and 3e30 are
    # not event ids; NaN, inf, 0.004 and 1e20 (too large for decimal(18,2)) are invalid amounts.
    assert flags == {
        ("raw_users", "valid"): 2, ("raw_users", "missing_id"): 1, ("raw_users", "missing_created_at"): 1,
        ("raw_events", "valid"): 2, ("raw_events", "missing_id"): 3, ("raw_events", "missing_user_id"): 1,
        ("raw_orders", "valid"): 2, ("raw_orders", "invalid_amount"): 4,
    }, flags
