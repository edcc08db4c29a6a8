"""The metrics layer (models/semantic/): every metric, queried through MetricFlow, equals what
the marts say and what the reference implementation (python_tests/reference) computes from
the raw rows, on the golden scenario and on generated dirty data; on DuckDB and PostgreSQL
(MetricFlow has no Spark engine). Counts and money exactly, ratios to 1e-9 relative.

Where a metric and a mart differ on purpose, the expected value says so: MetricFlow has no
row for a period without any row of the queried metrics' semantic models (the marts'
daily_summary has every day from the first to the last with activity), and a ratio over a
denominator of 0 is null, not 0. Counts and money are 0, not null, on the rows MetricFlow
has (fill_nulls_with: 0).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from harness import HARNESS_AS_OF_DATE, assert_all, assert_build_ok, assert_rows_equal, build_scenario, read_raw_rows
from reference.contract import _add_months, compute
from sbdk.generate import generate
from test_scenarios import SCENARIOS_DIR, load_scenario_raw

pytestmark = pytest.mark.metricflow

AS_OF = date.fromisoformat(HARNESS_AS_OF_DATE)

#: The models an expectation reads: from the reference implementation, and as built.
SOURCE_MODELS = ("daily_summary", "product_summary", "cohort_summary", "cohort_retention", "user_metrics",
                 "int_user_activity", "stg_users", "stg_events", "stg_orders")

Rows = Mapping[str, list[dict]]


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def _ratio(numerator: Any, denominator: Any) -> float | None:
    return None if not denominator else float(numerator) / float(denominator)


def _valid(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["data_quality_flag"] == "valid"]


@dataclass(frozen=True)
class MetricCheck:
    """A MetricFlow query and the rows it must return, computed from the models' rows."""

    name: str
    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    expected: Callable[[Rows], list[dict]]


def _per_day(models: Rows) -> list[dict]:
    """daily_summary's columns as metrics, on the days with an event, an order or a signup."""
    out = []
    for r in models["daily_summary"]:
        if not (r["total_events"] or r["total_orders"] or r["new_signups"]):
            continue  # a day without any row of the three semantic models: no MetricFlow row
        out.append({
            "metric_time__day": r["report_date"],
            "sbdk_revenue": r["daily_revenue"],
            "sbdk_orders": r["total_orders"],
            "sbdk_buyers": r["unique_buyers"],
            "sbdk_average_order_value": r["avg_order_value"] if r["total_orders"] else None,
            "sbdk_signups": r["new_signups"],
            "sbdk_active_users": r["active_users"],
            "sbdk_events": r["total_events"],
            "sbdk_pageviews": r["pageviews"],
            "sbdk_purchase_events": r["purchase_events"],
            "sbdk_sessions": r["total_sessions"],
            "sbdk_events_per_session": r["avg_events_per_session"] if r["total_sessions"] else None,
            "sbdk_purchase_conversion_rate": _ratio(r["purchase_events"], r["pageviews"]),
            # the mart's percentages, as fractions
            "sbdk_order_conversion_rate": r["conversion_rate_pct"] / 100 if r["pageviews"] else None,
            "sbdk_buyer_rate": r["buyer_rate_pct"] / 100 if r["active_users"] else None,
        })
    return out


def _per_product_category(models: Rows) -> list[dict]:
    return [{
        "sbdk_order__product_category": r["product_category"],
        "sbdk_revenue": r["total_revenue"],
        "sbdk_orders": r["total_orders"],
        "sbdk_buyers": r["unique_buyers"],
        "sbdk_average_order_value": r["avg_order_value"],
        "sbdk_revenue_per_buyer": r["revenue_per_buyer"],
    } for r in models["product_summary"]]


def _per_signup_month(models: Rows) -> list[dict]:
    return [{
        "sbdk_user__signup_date__month": r["cohort_month"],
        "sbdk_signups": r["cohort_size"],
        "sbdk_revenue": r["cohort_revenue"],
        "sbdk_buyers": r["buyers_in_cohort"],
        "sbdk_revenue_per_buyer": r["avg_revenue_per_buyer"] if r["buyers_in_cohort"] else None,
    } for r in models["cohort_summary"]]


def _active_users_per_month(models: Rows) -> list[dict]:
    """cohort_retention's active users of each cohort in each calendar month, added up over the
    cohorts (a user belongs to one cohort): the users with a valid event that month."""
    per_month: dict[date, int] = defaultdict(int)
    for r in models["cohort_retention"]:
        per_month[_add_months(r["cohort_month"], r["months_since_signup"])] += r["active_users"]
    return [{"metric_time__month": m, "sbdk_active_users": n} for m, n in per_month.items() if n]


def _per_user(models: Rows) -> list[dict]:
    return [{
        "sbdk_user": r["user_id"],
        "sbdk_events": r["total_events"],
        "sbdk_pageviews": r["pageviews"],
        "sbdk_purchase_conversion_rate": r["purchase_conversion_rate"] if r["pageviews"] else None,
    } for r in models["int_user_activity"] if r["total_events"]]


def _per_country(models: Rows) -> list[dict]:
    """Revenue and events by the user's country, through the user entity (user_metrics)."""
    revenue: dict[Any, Decimal] = defaultdict(Decimal)
    events: dict[Any, int] = defaultdict(int)
    for r in models["user_metrics"]:
        revenue[r["country_code"]] += Decimal(r["total_revenue"])
        events[r["country_code"]] += r["total_events"]
    return [{"sbdk_user__country_code": c, "sbdk_revenue": revenue[c], "sbdk_events": events[c]}
            for c in revenue if revenue[c] or events[c]]


def _events_per_category(models: Rows) -> list[dict]:
    counts: dict[str, int] = defaultdict(int)
    for r in _valid(models["stg_events"]):
        counts[r["event_category"]] += 1
    return [{"sbdk_event__event_category": c, "sbdk_events": n} for c, n in counts.items()]


def _revenue_to_date(models: Rows) -> list[dict]:
    """The running total of daily_summary's revenue, on every day from the first with an
    order to as_of_date (the end of the time spine)."""
    per_day = {r["report_date"]: Decimal(r["daily_revenue"]) for r in models["daily_summary"] if r["total_orders"]}
    if not per_day:
        return []
    out, total, day = [], Decimal(0), min(per_day)
    while day <= AS_OF:
        total += per_day.get(day, Decimal(0))
        out.append({"metric_time__day": day, "sbdk_revenue_to_date": total})
        day += timedelta(days=1)
    return out


def _signup_to_order_30d(models: Rows) -> list[dict]:
    """Per signup day: the share of its valid users with a valid order 0 to 29 days after the
    signup date (MetricFlow's window of 30 days: order_date < signup_date + 30 days)."""
    first_order: dict[Any, date] = {}
    for r in _valid(models["stg_orders"]):
        first_order[r["user_id"]] = min(r["order_date"], first_order.get(r["user_id"], r["order_date"]))
    signups: dict[date, int] = defaultdict(int)
    converted: dict[date, int] = defaultdict(int)
    for u in _valid(models["stg_users"]):
        signups[u["signup_date"]] += 1
        ordered = first_order.get(u["user_id"])
        converted[u["signup_date"]] += ordered is not None and 0 <= (ordered - u["signup_date"]).days < 30
    return [{"metric_time__day": d, "sbdk_signup_to_order_30d": converted[d] / n} for d, n in signups.items()]


CHECKS = (
    MetricCheck("per day (daily_summary)", (
        "sbdk_revenue", "sbdk_orders", "sbdk_buyers", "sbdk_average_order_value", "sbdk_signups",
        "sbdk_active_users", "sbdk_events", "sbdk_pageviews", "sbdk_purchase_events", "sbdk_sessions",
        "sbdk_events_per_session", "sbdk_purchase_conversion_rate", "sbdk_order_conversion_rate",
        "sbdk_buyer_rate"), ("metric_time__day",), _per_day),
    MetricCheck("per product category (product_summary)", (
        "sbdk_revenue", "sbdk_orders", "sbdk_buyers", "sbdk_average_order_value", "sbdk_revenue_per_buyer"),
        ("sbdk_order__product_category",), _per_product_category),
    MetricCheck("per signup month (cohort_summary)", (
        "sbdk_signups", "sbdk_revenue", "sbdk_buyers", "sbdk_revenue_per_buyer"),
        ("sbdk_user__signup_date__month",), _per_signup_month),
    MetricCheck("active users per month (cohort_retention)", ("sbdk_active_users",),
                ("metric_time__month",), _active_users_per_month),
    MetricCheck("per user (int_user_activity)", ("sbdk_events", "sbdk_pageviews", "sbdk_purchase_conversion_rate"),
                ("sbdk_user",), _per_user),
    MetricCheck("per country (user_metrics)", ("sbdk_revenue", "sbdk_events"),
                ("sbdk_user__country_code",), _per_country),
    MetricCheck("events per event category (stg_events)", ("sbdk_events",),
                ("sbdk_event__event_category",), _events_per_category),
    MetricCheck("revenue to date (daily_summary)", ("sbdk_revenue_to_date",), ("metric_time__day",),
                _revenue_to_date),
    MetricCheck("signup to order within 30 days (stg_users, stg_orders)", ("sbdk_signup_to_order_30d",),
                ("metric_time__day",), _signup_to_order_30d),
)


def _normalized(rows: list[dict], group_by: tuple[str, ...]) -> list[dict]:
    """MetricFlow's time group-bys (timestamps on some engines) as dates."""
    return [{k: (_day(v) if k in group_by else v) for k, v in r.items()} for r in rows]


def _window_case() -> dict[str, list[dict]]:
    """Four users signing up on 2025-11-01, whose first orders come on the signup day, 29 days
    and 30 days later, and never: the edge of the conversion metric's 30-day window."""
    users, events, orders = [], [], []
    first_orders = {1: "2025-11-01 12:00:00", 2: "2025-11-30 09:00:00", 3: "2025-12-01 09:00:00", 4: None}
    for user_id, ordered_at in first_orders.items():
        users.append({"user_id": user_id, "email": f"u{user_id}@example.com", "name": f"U{user_id}",
                      "country": "de" if user_id % 2 else "fr", "referrer": "google",
                      "created_at": "2025-11-01 10:00:00"})
        events.append({"event_id": 10 * user_id, "user_id": user_id, "event_type": "pageview",
                       "timestamp": "2025-11-01 10:05:00", "utm_source": "newsletter"})
        if ordered_at:
            events.append({"event_id": 10 * user_id + 1, "user_id": user_id, "event_type": "purchase",
                           "timestamp": ordered_at, "utm_source": None})
            orders.append({"order_id": 100 * user_id, "user_id": user_id, "amount": f"{20 * user_id}.50",
                           "product_category": "books", "payment_method": "paypal", "created_at": ordered_at})
            orders.append({"order_id": 100 * user_id + 1, "user_id": user_id, "amount": "5.00",
                           "product_category": "books", "payment_method": "credit_card",
                           "created_at": "2025-12-20 08:00:00"})
    return {"raw_users": users, "raw_events": events, "raw_orders": orders}


#: The conversion of the window case, by hand: users 1 (day 0) and 2 (day 29) of 4.
WINDOW_CASE_CONVERSION = [{"metric_time__day": date(2025, 11, 1), "sbdk_signup_to_order_30d": 0.5}]


def _load(dataset: str, tmp_path) -> dict[str, Any]:
    """Raw rows to load (dict of rows) or a generated DuckDB file (Path), and their rows for the reference."""
    if dataset in ("golden", "window"):
        raw = load_scenario_raw(SCENARIOS_DIR / "golden") if dataset == "golden" else _window_case()
        return {"raw": raw, "reference_raw": raw}
    raw_file = tmp_path / "generated.duckdb"
    generate(800, db_path=raw_file, seed=21, end=AS_OF, dirty=0.1)
    return {"copy_raw_from": raw_file, "reference_raw": read_raw_rows(raw_file)}


def test_every_metric_is_checked(package_metrics) -> None:
    """A new metric needs an equality check here."""
    checked = {m for check in CHECKS for m in check.metrics}
    assert sorted(set(package_metrics.metric_names) - checked) == []
    assert sorted(checked - set(package_metrics.metric_names)) == []


@pytest.mark.engines("postgres")
@pytest.mark.parametrize("dataset", ["golden", "dirty", "window"])
def test_metrics_equal_the_marts_and_the_reference(dataset: str, dbt_project, engine, package_metrics,
                                                   tmp_path) -> None:
    data = _load(dataset, tmp_path)
    scenario = build_scenario(dbt_project, engine, data.get("raw"), copy_raw_from=data.get("copy_raw_from"))
    assert_build_ok(scenario)
    sources = {
        "the reference": compute(data["reference_raw"], AS_OF),
        "the marts": {model: scenario.rows(model) for model in SOURCE_MODELS},
    }
    assert sources["the marts"]["stg_orders"] and sources["the marts"]["stg_events"], "no rows to measure"
    if dataset == "dirty":
        flags = {r["data_quality_flag"] for r in sources["the marts"]["stg_orders"]}
        assert len(flags) > 3, f"the dirty dataset should have orders of many flags, got {flags}"

    checks = []
    if dataset == "window":
        def by_hand():
            actual = _normalized(package_metrics.rows(engine, ["sbdk_signup_to_order_30d"], ["metric_time__day"]),
                                 ("metric_time__day",))
            assert_rows_equal("signup to order within 30 days, by hand", WINDOW_CASE_CONVERSION, actual,
                              key=("metric_time__day",))
        checks.append(by_hand)
    for check in CHECKS:
        actual = _normalized(package_metrics.rows(engine, check.metrics, check.group_by), check.group_by)
        for source, models in sources.items():
            def compare(check=check, actual=actual, source=source, models=models):
                expected = check.expected(models)
                assert expected, f"{check.name}: nothing expected from {source}: the check proves nothing"
                assert_rows_equal(f"{check.name} vs {source}", expected, actual, key=check.group_by,
                                  columns=[*check.group_by, *check.metrics])
            checks.append(compare)
    assert_all(f"metrics on the {dataset} data", checks)
