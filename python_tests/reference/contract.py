"""An independent, pure-Python implementation of the sbdk model contract.

It is the oracle of the differential tests: given the three raw tables as lists of row dicts it
returns every model as a list of row dicts, computed from the model contract as the package
documents it (the models' YAML, the docs blocks of `models/docs.md` and the overview
`models/overview.md`) alone (no SQL, no DuckDB). Its inputs are read from the package's own
files (project_inputs.py: the vars of dbt_project.yml, the mapping seeds, the columns of the
properties files); its rules are its own.

Python types of the output: ids, counts and day counts ``int``; money ``Decimal`` with two
places; ratios and averages ``float``; timestamps naive ``datetime`` (UTC); dates ``date``;
text ``str``; nulls ``None``. The ``dbt_updated_at`` column is omitted (it is the run's start
time, not data).

Rules the contract leaves open are settled as the package documents them (models/overview.md,
models/docs.md and the models' descriptions).
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = ["compute"]

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
CENT = Decimal("0.01")
ZERO_MONEY = Decimal("0.00")
AMOUNT_LIMIT = Decimal(10) ** 16  # decimal(18,2) holds |x| < 10^16


# The rules this implementation settles where the contract is silent are the package's documented
# rules (models/overview.md, models/docs.md and the models' descriptions), not a list here.

# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

_ID_RE = re.compile(r"[+-]?[0-9]+")
_TS_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?)?"
)
_AMOUNT_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _trim(s: str) -> str:
    """Trimming removes spaces (' ') only."""
    return s.strip(" ")


def _fits_int64(n: int) -> bool:
    return INT64_MIN <= n <= INT64_MAX


def parse_id(value: Any) -> int | None:
    """An id, or None when missing."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if _fits_int64(value) else None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        n = int(value)
        return n if _fits_int64(n) else None
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            return None
        n = int(value)
        return n if _fits_int64(n) else None
    if isinstance(value, str):
        text = _trim(value)
        if not _ID_RE.fullmatch(text):
            return None
        n = int(text)
        return n if _fits_int64(n) else None
    return None


def parse_timestamp(value: Any) -> datetime | None:
    """A naive UTC datetime, or None when missing."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            offset = value.utcoffset()
            if offset is not None:
                try:
                    return (value.replace(tzinfo=None) - offset).replace(tzinfo=None)
                except OverflowError:
                    return None
            return value.replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        return None
    m = _TS_RE.fullmatch(_trim(value))
    if not m:
        return None
    year, month, day, hh, mi, ss, frac, tz = m.groups()
    try:
        d = date(int(year), int(month), int(day))
    except ValueError:
        return None
    if hh is None:
        return datetime(d.year, d.month, d.day)
    hour, minute = int(hh), int(mi)
    second = int(ss) if ss is not None else 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    micro = int(frac.ljust(6, "0")) if frac else 0
    ts = datetime(d.year, d.month, d.day, hour, minute, second, micro)
    if tz is None or tz == "Z":
        return ts
    sign = 1 if tz[0] == "+" else -1
    oh, om = int(tz[1:3]), int(tz[4:6])
    if oh > 23 or om > 59:
        return None
    try:
        return ts - sign * timedelta(hours=oh, minutes=om)
    except OverflowError:
        return None


def parse_amount(value: Any) -> Decimal | None:
    """The amount rounded half away from zero to cents, or None when it does not parse or does
    not fit decimal(18,2)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        d = Decimal(repr(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            return None
        d = value
    elif isinstance(value, str):
        text = _trim(value)
        if not _AMOUNT_RE.fullmatch(text):
            return None
        try:
            d = Decimal(text)
        except InvalidOperation:
            return None
    else:
        return None
    if d.copy_abs() >= AMOUNT_LIMIT * 10:  # far out of range: avoid huge quantize work
        return None
    rounded = d.quantize(CENT, rounding=ROUND_HALF_UP)
    if rounded.copy_abs() >= AMOUNT_LIMIT:
        return None
    if rounded == 0:
        rounded = ZERO_MONEY  # no negative zero
    return rounded


def clean_text(value: Any) -> str | None:
    """Trimmed text; None for null or empty after trimming."""
    if value is None:
        return None
    text = _trim(value if isinstance(value, str) else str(value))
    return text or None


def _lower(value: Any) -> str | None:
    text = clean_text(value)
    return text.lower() if text is not None else None


def _upper(value: Any) -> str | None:
    text = clean_text(value)
    return text.upper() if text is not None else None


def _no_at(text: str | None) -> str | None:
    """Columns that reach a mart never carry '@' (personal data): such a value is null."""
    return None if text is not None and "@" in text else text


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _ratio(num: Any, den: Any) -> float:
    """num / den as a double; 0 when the denominator is 0 or null."""
    if den is None or den == 0 or num is None:
        return 0.0
    return float(num) / float(den)


def _pct(num: Any, den: Any) -> float:
    if den is None or den == 0 or num is None:
        return 0.0
    return float(num) / float(den) * 100


def _nulls_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value if value is not None else 0)


def _money_sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO_MONEY).quantize(CENT)


def _month_start(d: date) -> date:
    return date(d.year, d.month, 1)


def _add_months(d: date, k: int) -> date:
    idx = d.year * 12 + (d.month - 1) + k
    return date(idx // 12, idx % 12 + 1, 1)


def _months_between(start: date, end: date) -> int:
    return (end.year * 12 + end.month) - (start.year * 12 + start.month)


def _day_of_week(d: date) -> int:
    """0 = Sunday ... 6 = Saturday."""
    return d.isoweekday() % 7


def _missing_flag(r: dict[str, Any], id_key: str, ts_key: str) -> str | None:
    """The first of an event's or order's own missing-value flags (missing_id, missing_user_id,
    missing_timestamp), or None."""
    if r[id_key] is None:
        return "missing_id"
    if r["user_id"] is None:
        return "missing_user_id"
    if r[ts_key] is None:
        return "missing_timestamp"
    return None


def _mark_duplicates(
    recs: list[dict[str, Any]], id_field: str, order_key: Callable[[dict[str, Any]], tuple]
) -> None:
    """Among rows not yet flagged, flag all but the first of each id as duplicate_id.

    Rows are ordered by ``order_key`` then by raw position (rows equal on the whole key are
    interchangeable: every output column agrees)."""
    groups: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(recs):
        if r["data_quality_flag"] is None:
            groups[r[id_field]].append(i)
    for idxs in groups.values():
        if len(idxs) < 2:
            continue
        idxs.sort(key=lambda i: (order_key(recs[i]), i))
        for i in idxs[1:]:
            recs[i]["data_quality_flag"] = "duplicate_id"


def _project(rows: Iterable[dict[str, Any]], cols: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{c: r[c] for c in cols} for r in rows]


def _resolve_vars(vars: dict | None) -> dict[str, Any]:
    # The inputs (thresholds, mapping seeds) come from the package's own files; the rules
    # applied to them are this module's.
    from .project_inputs import project_vars

    return project_vars(vars)


# --------------------------------------------------------------------------------------------
# Staging
# --------------------------------------------------------------------------------------------


def _stage_users(rows: list[dict], end_of_day: datetime) -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = []
    for raw in rows:
        user_id = parse_id(raw.get("user_id"))
        created_at = parse_timestamp(raw.get("created_at"))
        email = _lower(raw.get("email"))
        email_hash = hashlib.md5(email.encode("utf-8")).hexdigest() if email else None
        domain = None
        if email is not None and "@" in email:
            domain = email.rpartition("@")[2] or None
        recs.append(
            {
                "user_id": user_id,
                "email_hash": email_hash,
                "email_domain": domain,
                "created_at": created_at,
                "country_code": _no_at(_upper(raw.get("country"))),
                "referrer_source": _no_at(_lower(raw.get("referrer"))),
                "signup_date": created_at.date() if created_at else None,
                "signup_year": created_at.year if created_at else None,
                "signup_month": created_at.month if created_at else None,
                "data_quality_flag": None,
                "_email": email,
            }
        )
    for r in recs:
        if r["user_id"] is None:
            r["data_quality_flag"] = "missing_id"
        elif r["created_at"] is None:
            r["data_quality_flag"] = "missing_created_at"
        elif r["created_at"] >= end_of_day:
            r["data_quality_flag"] = "future_timestamp"
    _mark_duplicates(
        recs,
        "user_id",
        lambda r: (
            r["created_at"],
            _nulls_last(r["email_hash"]),
            _nulls_last(r["country_code"]),
            _nulls_last(r["referrer_source"]),
        ),
    )
    by_email: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        if r["data_quality_flag"] is None and r["_email"] is not None:
            by_email[r["_email"]].append(r)
    for group in by_email.values():
        group.sort(key=lambda r: (r["created_at"], r["user_id"]))
        for r in group[1:]:
            r["data_quality_flag"] = "duplicate_email"
    for r in recs:
        if r["data_quality_flag"] is None:
            r["data_quality_flag"] = "valid"
    return recs


def _stage_events(
    rows: list[dict],
    valid_users: dict[int, dict[str, Any]],
    end_of_day: datetime,
    categories: dict[str, str],
    vars: dict[str, Any],
) -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = []
    for raw in rows:
        ts = parse_timestamp(raw.get("timestamp"))
        event_type = _lower(raw.get("event_type")) or "unknown"
        recs.append(
            {
                "event_id": parse_id(raw.get("event_id")),
                "user_id": parse_id(raw.get("user_id")),
                "event_type": event_type,
                "event_timestamp": ts,
                "utm_source": _lower(raw.get("utm_source")),
                "event_category": categories.get(event_type, "other"),
                "event_date": ts.date() if ts else None,
                "event_hour": ts.hour if ts else None,
                "day_of_week": _day_of_week(ts.date()) if ts else None,
                "session_id": None,
                "data_quality_flag": None,
            }
        )
    for r in recs:
        r["data_quality_flag"] = _missing_flag(r, "event_id", "event_timestamp")
    _mark_duplicates(
        recs,
        "event_id",
        lambda r: (
            r["event_timestamp"],
            _nulls_last(r["user_id"]),
            _nulls_last(r["event_type"]),
            _nulls_last(r["utm_source"]),
        ),
    )
    _flag_against_users(recs, "event_timestamp", valid_users, end_of_day)
    _assign_sessions(recs, vars)
    return recs


def _flag_against_users(
    recs: list[dict[str, Any]], ts_key: str, valid_users: dict[int, dict[str, Any]], end_of_day: datetime
) -> None:
    """The rules events and orders share after duplicates: unknown_user, future_timestamp,
    before_signup, else valid (rows already flagged keep their flag)."""
    for r in recs:
        if r["data_quality_flag"] is not None:
            continue
        user = valid_users.get(r["user_id"])
        if user is None:
            r["data_quality_flag"] = "unknown_user"
        elif r[ts_key] >= end_of_day:
            r["data_quality_flag"] = "future_timestamp"
        elif r[ts_key] < user["created_at"]:
            r["data_quality_flag"] = "before_signup"
        else:
            r["data_quality_flag"] = "valid"


def _assign_sessions(recs: list[dict[str, Any]], vars: dict[str, Any]) -> None:
    """Inactivity sessions (gap strictly greater than the timeout), each cut into windows of
    max_session_duration_hours counted from its first event; session_id '<user_id>-<n>'."""
    timeout = timedelta(minutes=float(vars["session_timeout_minutes"]))
    window = timedelta(hours=float(vars["max_session_duration_hours"]))
    by_user: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        if r["data_quality_flag"] == "valid":
            by_user[r["user_id"]].append(r)
    for user_id, events in by_user.items():
        events.sort(key=lambda r: (r["event_timestamp"], r["event_id"]))
        n = 0
        prev_ts: datetime | None = None
        start: datetime | None = None
        current_window = -1
        for r in events:
            ts = r["event_timestamp"]
            if prev_ts is None or ts - prev_ts > timeout:
                start = ts
                current_window = -1
            assert start is not None
            w = (ts - start) // window
            if w != current_window:
                n += 1
                current_window = w
            r["session_id"] = f"{user_id}-{n}"
            prev_ts = ts


def _stage_orders(
    rows: list[dict],
    valid_users: dict[int, dict[str, Any]],
    end_of_day: datetime,
    revenue_types: dict[str, str],
    payment_groups: dict[str, str],
    min_amount: Decimal,
) -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = []
    for raw in rows:
        ts = parse_timestamp(raw.get("created_at"))
        amount = parse_amount(raw.get("amount"))
        category = _no_at(_lower(raw.get("product_category"))) or "unknown"
        method = _lower(raw.get("payment_method")) or "unknown"
        if amount is None:
            size = None
        elif amount < 50:
            size = "small"
        elif amount <= 200:
            size = "medium"
        else:
            size = "large"
        recs.append(
            {
                "order_id": parse_id(raw.get("order_id")),
                "user_id": parse_id(raw.get("user_id")),
                "order_amount": amount,
                "product_category": category,
                "payment_method": method,
                "ordered_at": ts,
                "order_date": ts.date() if ts else None,
                "order_size_category": size,
                "payment_method_group": payment_groups.get(method, "other"),
                "revenue_type": revenue_types.get(category, "one_time"),
                "data_quality_flag": None,
            }
        )
    for r in recs:
        r["data_quality_flag"] = _missing_flag(r, "order_id", "ordered_at")
        if r["data_quality_flag"] is None and (r["order_amount"] is None or r["order_amount"] < min_amount):
            r["data_quality_flag"] = "invalid_amount"
    _mark_duplicates(
        recs,
        "order_id",
        lambda r: (
            r["ordered_at"],
            _nulls_last(r["user_id"]),
            _nulls_last(r["order_amount"]),
            _nulls_last(r["product_category"]),
            _nulls_last(r["payment_method"]),
        ),
    )
    _flag_against_users(recs, "ordered_at", valid_users, end_of_day)
    return recs


# --------------------------------------------------------------------------------------------
# Intermediate
# --------------------------------------------------------------------------------------------


def _user_activity(
    users: list[dict[str, Any]], events: list[dict[str, Any]], as_of: date, vars: dict
) -> list[dict[str, Any]]:
    by_user: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_user[e["user_id"]].append(e)
    out = []
    for u in users:
        evs = by_user.get(u["user_id"], [])
        types = Counter(e["event_type"] for e in evs)
        total = len(evs)
        active_days = len({e["event_date"] for e in evs})
        sessions = len({e["session_id"] for e in evs})
        first = min((e["event_timestamp"] for e in evs), default=None)
        last = max((e["event_timestamp"] for e in evs), default=None)
        since = (as_of - last.date()).days if last is not None else None
        if total == 0:
            stage = "inactive"
        elif since is not None and since > vars["dormant_after_days"]:
            stage = "dormant"
        elif (
            total >= vars["active_user_min_events"] and active_days >= vars["active_user_min_days"]
        ):
            stage = "active"
        elif total >= vars["engaged_user_min_events"]:
            stage = "engaged"
        else:
            stage = "new"
        out.append(
            {
                "user_id": u["user_id"],
                "created_at": u["created_at"],
                "country_code": u["country_code"],
                "referrer_source": u["referrer_source"],
                "signup_date": u["signup_date"],
                "total_events": total,
                "active_days": active_days,
                "pageviews": types["pageview"],
                "purchase_events": types["purchase"],
                "login_events": types["login"],
                "signup_events": types["signup"],
                "total_sessions": sessions,
                "avg_events_per_active_day": _ratio(total, active_days),
                "avg_events_per_session": _ratio(total, sessions),
                "purchase_conversion_rate": _ratio(types["purchase"], types["pageview"]),
                "first_event_at": first,
                "last_event_at": last,
                "days_since_last_activity": since,
                "user_lifecycle_stage": stage,
            }
        )
    return out


def _preferred(orders: list[dict[str, Any]], field: str) -> str | None:
    """Most orders; ties to the larger revenue, then alphabetical (smallest string)."""
    if not orders:
        return None
    counts: Counter[str] = Counter()
    revenue: dict[str, Decimal] = defaultdict(lambda: ZERO_MONEY)
    for o in orders:
        counts[o[field]] += 1
        revenue[o[field]] += o["order_amount"]
    return min(counts, key=lambda v: (-counts[v], -revenue[v], v))


def _user_orders(
    users: list[dict[str, Any]], orders: list[dict[str, Any]], vars: dict
) -> list[dict[str, Any]]:
    high = Decimal(str(vars["high_value_customer_threshold"]))
    medium = Decimal(str(vars["medium_value_customer_threshold"]))
    by_user: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for o in orders:
        by_user[o["user_id"]].append(o)
    out = []
    for u in users:
        ords = by_user.get(u["user_id"], [])
        amounts = [o["order_amount"] for o in ords]
        n = len(ords)
        revenue = _money_sum(amounts)
        if revenue > high:
            value_segment = "high_value"
        elif revenue > medium:
            value_segment = "medium_value"
        elif revenue > 0:
            value_segment = "low_value"
        else:
            value_segment = "no_purchases"
        if n == 0:
            buyer_segment = "non_buyer"
        elif n == 1:
            buyer_segment = "one_time_buyer"
        elif n <= 5:
            buyer_segment = "repeat_buyer"
        else:
            buyer_segment = "loyal_buyer"
        out.append(
            {
                "user_id": u["user_id"],
                "created_at": u["created_at"],
                "country_code": u["country_code"],
                "referrer_source": u["referrer_source"],
                "total_orders": n,
                "total_revenue": revenue,
                "avg_order_value": _ratio(revenue, n),
                "min_order_value": min(amounts) if amounts else None,
                "max_order_value": max(amounts) if amounts else None,
                "recurring_revenue": _money_sum(
                    o["order_amount"] for o in ords if o["revenue_type"] == "recurring"
                ),
                "expansion_revenue": _money_sum(
                    o["order_amount"] for o in ords if o["revenue_type"] == "expansion"
                ),
                "one_time_revenue": _money_sum(
                    o["order_amount"] for o in ords if o["revenue_type"] == "one_time"
                ),
                "unique_product_categories": len({o["product_category"] for o in ords}),
                "unique_payment_methods": len({o["payment_method"] for o in ords}),
                "preferred_product_category": _preferred(ords, "product_category"),
                "preferred_payment_method": _preferred(ords, "payment_method"),
                "customer_value_segment": value_segment,
                "buyer_segment": buyer_segment,
            }
        )
    return out


def _event_sessions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_session[e["session_id"]].append(e)
    out = []
    for session_id, evs in by_session.items():
        evs.sort(key=lambda e: (e["event_timestamp"], e["event_id"]))
        start, end = evs[0]["event_timestamp"], evs[-1]["event_timestamp"]
        n = len(evs)
        purchases = sum(1 for e in evs if e["event_type"] == "purchase")
        if purchases > 0:
            outcome = "converted"
        elif n >= 5:
            outcome = "engaged"
        elif n >= 2:
            outcome = "browsed"
        else:
            outcome = "bounced"
        out.append(
            {
                "user_id": evs[0]["user_id"],
                "session_id": session_id,
                "session_start": start,
                "session_end": end,
                "events_in_session": n,
                "unique_event_types": len({e["event_type"] for e in evs}),
                "session_duration_minutes": (end - start).total_seconds() / 60.0,
                "pageviews_in_session": sum(1 for e in evs if e["event_type"] == "pageview"),
                "purchases_in_session": purchases,
                "session_outcome": outcome,
                "first_event_type": evs[0]["event_type"],
                "last_event_type": evs[-1]["event_type"],
            }
        )
    out.sort(key=lambda s: (s["user_id"], s["session_start"], s["session_id"]))
    return out


# --------------------------------------------------------------------------------------------
# Marts
# --------------------------------------------------------------------------------------------


def _user_metrics(
    activity: list[dict[str, Any]], user_orders: list[dict[str, Any]], as_of: date
) -> list[dict[str, Any]]:
    orders_by_user = {o["user_id"]: o for o in user_orders}
    out = []
    for a in activity:
        o = orders_by_user[a["user_id"]]
        age = (as_of - a["signup_date"]).days
        revenue = o["total_revenue"]
        score = (
            2 * a["active_days"]
            + 5 * o["total_orders"]
            + (20 if revenue > 100 else 0)
            + (15 if a["user_lifecycle_stage"] == "active" else 0)
        )
        out.append(
            {
                "user_id": a["user_id"],
                "created_at": a["created_at"],
                "country_code": a["country_code"],
                "referrer_source": a["referrer_source"],
                "signup_date": a["signup_date"],
                "total_events": a["total_events"],
                "active_days": a["active_days"],
                "pageviews": a["pageviews"],
                "total_sessions": a["total_sessions"],
                "avg_events_per_active_day": a["avg_events_per_active_day"],
                "avg_events_per_session": a["avg_events_per_session"],
                "user_lifecycle_stage": a["user_lifecycle_stage"],
                "days_since_last_activity": a["days_since_last_activity"],
                "total_orders": o["total_orders"],
                "total_revenue": revenue,
                "avg_order_value": o["avg_order_value"],
                "customer_value_segment": o["customer_value_segment"],
                "buyer_segment": o["buyer_segment"],
                "preferred_product_category": o["preferred_product_category"],
                "overall_conversion_rate": _ratio(o["total_orders"], a["pageviews"]),
                "revenue_per_active_day": _ratio(revenue, a["active_days"]),
                "customer_age_days": age,
                "daily_customer_value": _ratio(revenue, age) if age > 0 else 0.0,
                "user_quality_score": min(100, score),
            }
        )
    return out


def _cohort_summary(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cohorts: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for m in metrics:
        cohorts[_month_start(m["signup_date"])].append(m)
    out = []
    for month in sorted(cohorts):
        members = cohorts[month]
        size = len(members)
        buyers = sum(1 for m in members if m["total_orders"] > 0)
        revenue = _money_sum(m["total_revenue"] for m in members)
        stages = Counter(m["user_lifecycle_stage"] for m in members)
        ages = [m["customer_age_days"] for m in members]
        out.append(
            {
                "cohort_month": month,
                "cohort_size": size,
                "buyers_in_cohort": buyers,
                "cohort_revenue": revenue,
                "avg_revenue_per_user": _ratio(revenue, size),
                "active_users": stages["active"],
                "engaged_users": stages["engaged"],
                "dormant_users": stages["dormant"],
                "buyer_conversion_rate_pct": _pct(buyers, size),
                "active_retention_rate_pct": _pct(stages["active"], size),
                "engaged_retention_rate_pct": _pct(stages["active"] + stages["engaged"], size),
                "avg_revenue_per_buyer": _ratio(revenue, buyers),
                "avg_customer_age_days": _ratio(sum(ages), size),
                "median_customer_age_days": float(statistics.median(ages)),
            }
        )
    return out


def _cohort_retention(
    users: list[dict[str, Any]], events: list[dict[str, Any]], as_of: date
) -> list[dict[str, Any]]:
    cohort_of = {u["user_id"]: _month_start(u["signup_date"]) for u in users}
    sizes = Counter(cohort_of.values())
    active: dict[tuple[date, date], set[int]] = defaultdict(set)
    for e in events:
        active[(cohort_of[e["user_id"]], _month_start(e["event_date"]))].add(e["user_id"])
    out = []
    for month in sorted(sizes):
        for k in range(_months_between(month, as_of) + 1):
            n_active = len(active.get((month, _add_months(month, k)), ()))
            out.append(
                {
                    "cohort_month": month,
                    "months_since_signup": k,
                    "cohort_size": sizes[month],
                    "active_users": n_active,
                    "retention_rate_pct": _pct(n_active, sizes[month]),
                }
            )
    return out


def _product_summary(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in orders:
        by_category[o["product_category"]].append(o)
    out = []
    for category in sorted(by_category):
        ords = by_category[category]
        n = len(ords)
        buyers = len({o["user_id"] for o in ords})
        revenue = _money_sum(o["order_amount"] for o in ords)
        methods = Counter(o["payment_method"] for o in ords)
        out.append(
            {
                "product_category": category,
                "total_orders": n,
                "unique_buyers": buyers,
                "total_revenue": revenue,
                "avg_order_value": _ratio(revenue, n),
                "recurring_revenue": _money_sum(
                    o["order_amount"] for o in ords if o["revenue_type"] == "recurring"
                ),
                "expansion_revenue": _money_sum(
                    o["order_amount"] for o in ords if o["revenue_type"] == "expansion"
                ),
                "one_time_revenue": _money_sum(
                    o["order_amount"] for o in ords if o["revenue_type"] == "one_time"
                ),
                "credit_card_orders": methods["credit_card"],
                "paypal_orders": methods["paypal"],
                "wire_orders": methods["wire"],
                "other_payment_orders": n
                - methods["credit_card"]
                - methods["paypal"]
                - methods["wire"],
                "revenue_per_order": _ratio(revenue, n),
                "revenue_per_buyer": _ratio(revenue, buyers),
            }
        )
    return out


def _daily_summary(
    users: list[dict[str, Any]], events: list[dict[str, Any]], orders: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    ev_by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        ev_by_day[e["event_date"]].append(e)
    ord_by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for o in orders:
        ord_by_day[o["order_date"]].append(o)
    signups = Counter(u["signup_date"] for u in users)
    days = set(ev_by_day) | set(ord_by_day) | set(signups)
    if not days:
        return []
    out = []
    day, last = min(days), max(days)
    while day <= last:
        evs = ev_by_day.get(day, [])
        ords = ord_by_day.get(day, [])
        types = Counter(e["event_type"] for e in evs)
        active_users = len({e["user_id"] for e in evs})
        sessions = len({e["session_id"] for e in evs})
        buyers = len({o["user_id"] for o in ords})
        revenue = _money_sum(o["order_amount"] for o in ords)
        out.append(
            {
                "report_date": day,
                "total_events": len(evs),
                "active_users": active_users,
                "total_sessions": sessions,
                "pageviews": types["pageview"],
                "purchase_events": types["purchase"],
                "signup_events": types["signup"],
                "new_signups": signups.get(day, 0),
                "total_orders": len(ords),
                "unique_buyers": buyers,
                "daily_revenue": revenue,
                "avg_order_value": _ratio(revenue, len(ords)),
                "conversion_rate_pct": _pct(len(ords), types["pageview"]),
                "buyer_rate_pct": _pct(buyers, active_users),
                "avg_events_per_session": _ratio(len(evs), sessions),
            }
        )
        day += timedelta(days=1)
    return out


def _data_quality_summary(tables: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for source, recs in tables.items():
        counts = Counter(r["data_quality_flag"] for r in recs)
        for flag in sorted(counts):
            out.append(
                {"source_table": source, "data_quality_flag": flag, "row_count": counts[flag]}
            )
    return out


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def compute(
    raw: dict[str, list[dict]], as_of_date: date, vars: dict | None = None
) -> dict[str, list[dict]]:
    """Every model of the contract, computed from the raw tables.

    ``raw`` has keys 'raw_users', 'raw_events', 'raw_orders' (a missing key is an empty
    table); ``vars`` overrides the vars of the package's dbt_project.yml and its mapping
    seeds (``event_category_mapping``, ``revenue_type_mapping``,
    ``payment_method_group_mapping``: a given mapping replaces the seed's entirely)."""
    if isinstance(as_of_date, datetime):
        as_of_date = as_of_date.date()
    v = _resolve_vars(vars)
    end_of_day = datetime(as_of_date.year, as_of_date.month, as_of_date.day) + timedelta(days=1)
    min_amount = Decimal(str(v["min_order_amount"]))

    users = _stage_users(list(raw.get("raw_users") or []), end_of_day)
    valid_users = [u for u in users if u["data_quality_flag"] == "valid"]
    valid_users.sort(key=lambda u: u["user_id"])
    users_by_id = {u["user_id"]: u for u in valid_users}

    events = _stage_events(
        list(raw.get("raw_events") or []),
        users_by_id,
        end_of_day,
        dict(v["event_category_mapping"]),
        v,
    )
    orders = _stage_orders(
        list(raw.get("raw_orders") or []),
        users_by_id,
        end_of_day,
        dict(v["revenue_type_mapping"]),
        dict(v["payment_method_group_mapping"]),
        min_amount,
    )
    valid_events = [e for e in events if e["data_quality_flag"] == "valid"]
    valid_orders = [o for o in orders if o["data_quality_flag"] == "valid"]

    activity = _user_activity(valid_users, valid_events, as_of_date, v)
    user_orders = _user_orders(valid_users, valid_orders, v)
    sessions = _event_sessions(valid_events)
    metrics = _user_metrics(activity, user_orders, as_of_date)

    result = {
        "stg_users": users,
        "stg_events": events,
        "stg_orders": orders,
        "int_user_activity": activity,
        "int_user_orders": user_orders,
        "int_event_sessions": sessions,
        "user_metrics": metrics,
        "cohort_summary": _cohort_summary(metrics),
        "cohort_retention": _cohort_retention(valid_users, valid_events, as_of_date),
        "product_summary": _product_summary(valid_orders),
        "daily_summary": _daily_summary(valid_users, valid_events, valid_orders),
        "data_quality_summary": _data_quality_summary(
            {"raw_users": users, "raw_events": events, "raw_orders": orders}
        ),
    }
    # The output has the columns the package's properties files declare (names are an
    # input, like the vars): a declared column this module does not compute is a KeyError.
    from .project_inputs import model_columns

    columns = model_columns()
    return {model: _project(rows, columns[model]) for model, rows in result.items()}
