"""Hand-checked cases for the pure-Python reference implementation of the contract.

Every expected value below was worked out by hand from the contract as the models' docs state it, not by
running the code. as_of_date is 2024-03-15 (a Friday) unless a test says otherwise; 2024 is a
leap year (February has 29 days).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from reference.contract import (
    compute,
    parse_amount,
    parse_id,
    parse_timestamp,
)
from reference.project_inputs import model_columns

AS_OF = date(2024, 3, 15)
D = Decimal


def run(users=(), events=(), orders=(), as_of=AS_OF, vars=None) -> dict[str, list[dict]]:
    return compute(
        {"raw_users": list(users), "raw_events": list(events), "raw_orders": list(orders)},
        as_of,
        vars,
    )


def flags(rows: list[dict]) -> list[str]:
    return [r["data_quality_flag"] for r in rows]


def by(rows: list[dict], key: str) -> dict[Any, dict]:
    return {r[key]: r for r in rows}


def assert_row(actual: dict, expected: dict) -> None:
    """Every expected column equal (floats approximately) and of the same Python type."""
    for col, want in expected.items():
        got = actual[col]
        if want is None:
            assert got is None, (col, got)
        elif isinstance(want, float):
            assert isinstance(got, float), (col, got)
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12), (col, got, want)
        else:
            assert type(got) is type(want), (col, type(got), type(want))
            assert got == want, (col, got, want)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def user(uid, created_at, **kw) -> dict:
    return {"user_id": uid, "created_at": created_at, **kw}


def event(eid, uid, ts, event_type="pageview", **kw) -> dict:
    return {"event_id": eid, "user_id": uid, "timestamp": ts, "event_type": event_type, **kw}


def order(oid, uid, ts, amount, category="books", method="credit_card") -> dict:
    return {
        "order_id": oid,
        "user_id": uid,
        "created_at": ts,
        "amount": amount,
        "product_category": category,
        "payment_method": method,
    }


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (" 17 ", 17),
        ("+5", 5),
        ("-5", -5),
        ("007", 7),
        ("17.5", None),
        ("1e2", None),
        ("abc", None),
        ("", None),
        ("  ", None),
        ("9223372036854775807", 9223372036854775807),
        ("9223372036854775808", None),
        (17, 17),
        (17.0, 17),
        (17.5, None),
        (float("nan"), None),
        (D("42"), 42),
        (D("42.5"), None),
        (None, None),
    ],
)
def test_parse_id(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-01-02", datetime(2024, 1, 2)),
        (" 2024-01-02 03:04 ", datetime(2024, 1, 2, 3, 4)),
        ("2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5)),
        ("2024-01-02 03:04:05.5", datetime(2024, 1, 2, 3, 4, 5, 500000)),
        ("2024-01-02 03:04:05.123456", datetime(2024, 1, 2, 3, 4, 5, 123456)),
        ("2024-01-02 03:04:05.1234567", None),
        ("2024-01-02 03:04:05Z", datetime(2024, 1, 2, 3, 4, 5)),
        ("2024-01-02T10:00+02:00", datetime(2024, 1, 2, 8, 0)),
        ("2024-01-02T01:00+02:00", datetime(2024, 1, 1, 23, 0)),
        ("2024-01-02T23:30-01:00", datetime(2024, 1, 3, 0, 30)),
        ("2024-01-02+02:00", None),
        ("2024-01-02 10:00 +02:00", None),
        ("2024-02-29 00:00", datetime(2024, 2, 29)),
        ("2023-02-29 00:00", None),
        ("2024-02-30", None),
        ("2024-01-02 24:00", None),
        ("2024-01-02 23:60", None),
        ("2024-01-02 23:59:60", None),
        ("2024-01-02T", None),
        ("2024/01/02", None),
        ("not a date", None),
        ("", None),
        (datetime(2024, 1, 2, 3, 4), datetime(2024, 1, 2, 3, 4)),
        (date(2024, 1, 2), datetime(2024, 1, 2)),
        (None, None),
    ],
)
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("0.005", D("0.01")),
        (0.005, D("0.01")),
        ("2.675", D("2.68")),
        (" 2.675 ", D("2.68")),
        (2.675, D("2.68")),
        ("-2.675", D("-2.68")),
        ("0.004", D("0.00")),
        ("-0.004", D("0.00")),
        ("1e3", D("1000.00")),
        ("1.5E-1", D("0.15")),
        (".5", D("0.50")),
        ("5.", D("5.00")),
        ("+7", D("7.00")),
        (12, D("12.00")),
        (D("3.14159"), D("3.14")),
        ("9999999999999999.99", D("9999999999999999.99")),
        ("9999999999999999.995", None),
        ("1e16", None),
        ("NaN", None),
        ("inf", None),
        (float("nan"), None),
        (float("inf"), None),
        ("1,5", None),
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_amount(value, expected):
    got = parse_amount(value)
    assert got == expected
    if expected is not None:
        assert str(got) == str(expected)  # two places, no negative zero


# --------------------------------------------------------------------------------------------
# stg_users
# --------------------------------------------------------------------------------------------


def test_stg_users_flags_and_precedence():
    users = [
        user(None, "2024-01-01"),  # 0 missing_id
        user("abc", "2024-01-01"),  # 1 missing_id
        user("17.5", "2024-01-01"),  # 2 missing_id
        user("1e2", "2024-01-01"),  # 3 missing_id
        user(" ", "2024-01-01"),  # 4 missing_id
        user("2", None),  # 5 missing_created_at
        user("3", "2024-02-30 10:00"),  # 6 missing_created_at (no such date)
        user("3", "2024-01-01 25:00"),  # 7 missing_created_at (bad hour)
        user("4", "2024-03-16 00:00:00"),  # 8 future_timestamp
        user("5", "2024-03-15 23:59:59.999999"),  # 9 valid
        user("6", "2024-03-16T01:00+02:00"),  # 10 valid: 2024-03-15 23:00 UTC
        user("7", "2024-03-15T23:30-01:00"),  # 11 future: 2024-03-16 00:30 UTC
        user(" 8 ", "2024-01-10 00:00", email="a@x.com"),  # 12 duplicate_id
        user(8, "2024-01-09 00:00", email="b@y.com"),  # 13 valid (earliest id 8)
        user(8, "2024-01-11", email="c@z.com"),  # 14 duplicate_id
        user(22, "2024-01-12", email="c@z.com"),  # 15 valid: row 14 is not a kept user
        user(20, "2024-01-01 00:00", email=" Foo@Bar.com "),  # 16 duplicate_email (tie, 19<20)
        user(21, "2024-01-02", email="foo@bar.COM"),  # 17 duplicate_email
        user(19, "2024-01-01 00:00", email="FOO@bar.com"),  # 18 valid
        user(23, "2024-01-01", email="  "),  # 19 valid, blank email is no email
        user(24, "2024-01-01", email=None),  # 20 valid
        user(25, "2024-01-01", email=""),  # 21 valid
        user(30, "2024-01-01", country="us"),  # 22 duplicate_id ('DE' < 'US')
        user(30, "2024-01-01", country=" de "),  # 23 valid
        user(31, "2024-01-01", country=None),  # 24 duplicate_id (nulls last)
        user(31, "2024-01-01", country="ZZ"),  # 25 valid
        user(40, "2024-03-20", email="dup@x.com"),  # 26 future_timestamp
        user(41, "2024-03-01", email="DUP@x.com"),  # 27 valid
        user(50, "2024-01-01 10:00+02:00", email="tz@x.com"),  # 28 valid: 08:00 UTC
        user(51, "2024-01-01 09:00", email="tz@x.com"),  # 29 duplicate_email (09:00 > 08:00)
    ]
    out = run(users=users)
    stg = out["stg_users"]
    assert len(stg) == 30
    assert flags(stg) == (
        ["missing_id"] * 5
        + ["missing_created_at"] * 3
        + ["future_timestamp", "valid", "valid", "future_timestamp"]
        + ["duplicate_id", "valid", "duplicate_id", "valid"]
        + ["duplicate_email", "duplicate_email", "valid", "valid", "valid", "valid"]
        + ["duplicate_id", "valid", "duplicate_id", "valid"]
        + ["future_timestamp", "valid", "valid", "duplicate_email"]
    )
    assert_row(
        stg[10],
        {
            "user_id": 6,
            "created_at": datetime(2024, 3, 15, 23, 0),
            "signup_date": date(2024, 3, 15),
            "signup_year": 2024,
            "signup_month": 3,
        },
    )
    assert_row(stg[11], {"user_id": 7, "created_at": datetime(2024, 3, 16, 0, 30)})
    assert_row(stg[12], {"user_id": 8, "email_hash": md5("a@x.com"), "email_domain": "x.com"})
    for i in (16, 17, 18):
        assert_row(stg[i], {"email_hash": md5("foo@bar.com"), "email_domain": "bar.com"})
    for i in (19, 20, 21):
        assert_row(stg[i], {"email_hash": None, "email_domain": None})
    assert_row(stg[23], {"user_id": 30, "country_code": "DE"})
    assert_row(stg[25], {"user_id": 31, "country_code": "ZZ"})
    assert_row(stg[0], {"user_id": None, "created_at": datetime(2024, 1, 1)})
    assert_row(stg[5], {"user_id": 2, "created_at": None, "signup_date": None})
    assert sorted(u["user_id"] for u in out["user_metrics"]) == [
        5, 6, 8, 19, 22, 23, 24, 25, 30, 31, 41, 50,
    ]  # fmt: skip
    assert out["data_quality_summary"] == [
        {"source_table": "raw_users", "data_quality_flag": f, "row_count": n}
        for f, n in [
            ("duplicate_email", 3),
            ("duplicate_id", 4),
            ("future_timestamp", 3),
            ("missing_created_at", 3),
            ("missing_id", 5),
            ("valid", 12),
        ]
    ]


def test_stg_users_text_columns_and_email_domain():
    out = run(
        users=[
            user(1, "2024-01-01", email="foo@", country=" us ", referrer=" Google "),
            user(2, "2024-01-02", email="nodomain", country="  ", referrer=""),
            user(3, "2024-01-03", email="a@b@C.com", name="Somebody"),
        ]
    )
    s = out["stg_users"]
    assert_row(s[0], {"email_hash": md5("foo@"), "email_domain": None})
    assert_row(s[0], {"country_code": "US", "referrer_source": "google"})
    assert_row(s[1], {"email_hash": md5("nodomain"), "email_domain": None})
    assert_row(s[1], {"country_code": None, "referrer_source": None})
    assert_row(s[2], {"email_hash": md5("a@b@c.com"), "email_domain": "c.com"})
    assert set(out) <= set(model_columns()), "the reference computes a model the package does not have"
    for rows in out.values():
        for r in rows:
            assert not any(isinstance(v, str) and "@" in v for v in r.values())


# --------------------------------------------------------------------------------------------
# stg_events
# --------------------------------------------------------------------------------------------


def test_stg_events_flags_and_precedence():
    users = [
        user(1, "2024-03-01 12:00", email="same@x.com"),
        user(2, "2024-03-02 12:00", email="SAME@x.com"),  # duplicate_email: not valid
    ]
    events = [
        event(None, 1, "2024-03-05 10:00"),  # 0 missing_id
        event("1e2", 1, "2024-03-05 10:00"),  # 1 missing_id
        event(100, None, "2024-03-01 13:00"),  # 2 missing_user_id
        event(100, 1, "2024-03-02 13:00"),  # 3 valid (row 2 does not count)
        event(101, 1, "garbage"),  # 4 missing_timestamp
        event(101, 1, "2024-03-03 10:00"),  # 5 valid
        event(102, 1, "2024-03-05 10:00"),  # 6 duplicate_id (row 7 is earlier)
        event(102, 999, "2024-03-04 10:00"),  # 7 unknown_user
        event(103, 1, "2024-03-16 00:00"),  # 8 future_timestamp
        event(104, 1, "2024-03-16T01:30+02:00"),  # 9 valid: 2024-03-15 23:30 UTC
        event(105, 1, "2024-03-01 11:59:59"),  # 10 before_signup
        event(106, 1, "2024-03-01 12:00:00"),  # 11 valid (equal to created_at)
        event(107, 2, "2024-03-05"),  # 12 unknown_user (user 2 is flagged)
        event(108, 999, "2030-01-01"),  # 13 unknown_user (before future_timestamp)
        event(109, 1, "2024-03-16 00:00"),  # 14 future_timestamp
        event(109, 1, "2024-03-17 00:00"),  # 15 duplicate_id
        event(110, 1, "2024-03-10 10:00", "pageview"),  # 16 duplicate_id ('click' < 'pageview')
        event(110, 1, "2024-03-10 10:00", " Click "),  # 17 valid
        event(111, 1, "2024-03-10 11:00", "login", utm_source=None),  # 18 duplicate_id
        event(111, 1, "2024-03-10 11:00", "login", utm_source=" Google "),  # 19 valid
        event(112, 1, "2024-03-01 12:00:00+02:00"),  # 20 before_signup (10:00 UTC)
        event(113, 1, "2024-03-11 10:00", "  "),  # 21 valid, unknown
        event(114, 1, "2024-03-11 10:10", None),  # 22 valid, unknown
    ]
    out = run(users=users, events=events)
    stg = out["stg_events"]
    assert flags(stg) == [
        "missing_id", "missing_id", "missing_user_id", "valid", "missing_timestamp", "valid",
        "duplicate_id", "unknown_user", "future_timestamp", "valid", "before_signup", "valid",
        "unknown_user", "unknown_user", "future_timestamp", "duplicate_id", "duplicate_id",
        "valid", "duplicate_id", "valid", "before_signup", "valid", "valid",
    ]  # fmt: skip
    assert_row(
        stg[17],
        {
            "event_id": 110,
            "user_id": 1,
            "event_type": "click",
            "event_category": "engagement",
            "event_timestamp": datetime(2024, 3, 10, 10, 0),
            "event_date": date(2024, 3, 10),
            "event_hour": 10,
            "day_of_week": 0,  # Sunday
            "utm_source": None,
        },
    )
    assert_row(stg[19], {"utm_source": "google", "event_category": "authentication"})
    assert_row(
        stg[9],
        {
            "event_timestamp": datetime(2024, 3, 15, 23, 30),
            "event_date": date(2024, 3, 15),
            "event_hour": 23,
            "day_of_week": 5,  # Friday
        },
    )
    assert_row(stg[21], {"event_type": "unknown", "event_category": "other"})
    assert_row(stg[22], {"event_type": "unknown", "event_category": "other"})
    assert_row(stg[4], {"event_timestamp": None, "event_date": None, "event_hour": None})
    assert_row(stg[4], {"day_of_week": None, "session_id": None})
    # valid events of user 1 in time order: rows 11, 3, 5, 17, 19 (+60 min), 21, 22 (+10 min), 9
    sessions = {i: stg[i]["session_id"] for i in (11, 3, 5, 17, 19, 21, 22, 9)}
    assert sessions == {
        11: "1-1", 3: "1-2", 5: "1-3", 17: "1-4", 19: "1-5", 21: "1-6", 22: "1-6", 9: "1-7",
    }  # fmt: skip
    assert all(r["session_id"] is None for r in stg if r["data_quality_flag"] != "valid")
    counts = {
        r["data_quality_flag"]: r["row_count"]
        for r in out["data_quality_summary"]
        if r["source_table"] == "raw_events"
    }
    assert counts == {
        "missing_id": 2,
        "missing_user_id": 1,
        "missing_timestamp": 1,
        "duplicate_id": 4,
        "unknown_user": 3,
        "future_timestamp": 2,
        "before_signup": 2,
        "valid": 8,
    }


# --------------------------------------------------------------------------------------------
# stg_orders
# --------------------------------------------------------------------------------------------


def test_stg_orders_flags_and_precedence():
    users = [user(1, "2024-03-01 12:00")]
    orders = [
        order(None, 1, "2024-03-02", "10"),  # 0 missing_id
        order(1, "x", "2024-03-02", "10"),  # 1 missing_user_id
        order(2, 1, None, "10"),  # 2 missing_timestamp
        order(3, 1, "2024-03-02", "abc"),  # 3 invalid_amount
        order(3, 1, "2024-03-03", "10"),  # 4 valid (row 3 does not count)
        order(4, 1, "2024-03-02", "0.004"),  # 5 invalid_amount (rounds to 0.00)
        order(5, 1, "2024-03-02", "0.005"),  # 6 valid, 0.01
        order(6, 1, "2024-03-02", "-5"),  # 7 invalid_amount
        order(7, 1, "2024-03-02", "NaN"),  # 8 invalid_amount
        order(8, 1, "2024-03-02", float("nan")),  # 9 invalid_amount
        order(9, 1, "2024-03-02", "1e16"),  # 10 invalid_amount (does not fit)
        order(10, 1, "2024-03-02", None),  # 11 invalid_amount
        order(11, 1, "2024-03-02", " 2.675 "),  # 12 valid, 2.68
        order(12, 1, "2024-03-02", 2.675),  # 13 valid, 2.68
        order(13, 1, "2024-03-05", "20"),  # 14 duplicate_id (10.00 < 20.00)
        order(13, 1, "2024-03-05", "10"),  # 15 valid
        order(14, 999, "2024-03-02", "10"),  # 16 unknown_user
        order(15, 1, "2024-03-16 00:00", "10"),  # 17 future_timestamp
        order(16, 1, "2024-03-01 11:00", "10"),  # 18 before_signup
        order(17, 1, "2024-03-02", "1e3"),  # 19 valid, 1000.00
        order(3, 1, "2024-03-04", "5"),  # 20 duplicate_id (row 4 is earlier)
    ]
    out = run(users=users, orders=orders)
    stg = out["stg_orders"]
    assert flags(stg) == [
        "missing_id", "missing_user_id", "missing_timestamp", "invalid_amount", "valid",
        "invalid_amount", "valid", "invalid_amount", "invalid_amount", "invalid_amount",
        "invalid_amount", "invalid_amount", "valid", "valid", "duplicate_id", "valid",
        "unknown_user", "future_timestamp", "before_signup", "valid", "duplicate_id",
    ]  # fmt: skip
    amounts = [r["order_amount"] for r in stg]
    assert amounts == [
        D("10.00"), D("10.00"), D("10.00"), None, D("10.00"), D("0.00"), D("0.01"),
        D("-5.00"), None, None, None, None, D("2.68"), D("2.68"), D("20.00"), D("10.00"),
        D("10.00"), D("10.00"), D("10.00"), D("1000.00"), D("5.00"),
    ]  # fmt: skip
    assert_row(stg[7], {"order_size_category": "small"})
    assert_row(stg[3], {"order_size_category": None})
    assert_row(stg[2], {"ordered_at": None, "order_date": None})
    assert_row(stg[4], {"ordered_at": datetime(2024, 3, 3), "order_date": date(2024, 3, 3)})
    # valid revenue: 10.00 + 0.01 + 2.68 + 2.68 + 10.00 + 1000.00
    assert out["int_user_orders"][0]["total_revenue"] == D("1025.37")
    counts = {
        r["data_quality_flag"]: r["row_count"]
        for r in out["data_quality_summary"]
        if r["source_table"] == "raw_orders"
    }
    assert counts == {
        "missing_id": 1,
        "missing_user_id": 1,
        "missing_timestamp": 1,
        "invalid_amount": 7,
        "duplicate_id": 2,
        "unknown_user": 1,
        "future_timestamp": 1,
        "before_signup": 1,
        "valid": 6,
    }


def test_order_size_categories_and_mappings():
    users = [user(1, "2024-03-01")]
    orders = [
        order(1, 1, "2024-03-02", "49.99", " SubScription ", " PayPal "),
        order(2, 1, "2024-03-02", "50.00", None, ""),
        order(3, 1, "2024-03-02", "200.00", "addon", "credit_card"),
        order(4, 1, "2024-03-02", "200.01", "Renewal", "wire"),
        order(5, 1, "2024-03-02", "49.995", "books", None),
        order(6, 1, "2024-03-02", "0.01", "books", "crypto"),
    ]
    stg = run(users=users, orders=orders)["stg_orders"]
    assert [r["order_size_category"] for r in stg] == [
        "small", "medium", "medium", "large", "medium", "small",
    ]  # fmt: skip
    assert [r["product_category"] for r in stg] == [
        "subscription", "unknown", "addon", "renewal", "books", "books",
    ]  # fmt: skip
    assert [r["revenue_type"] for r in stg] == [
        "recurring", "one_time", "expansion", "expansion", "one_time", "one_time",
    ]  # fmt: skip
    assert [r["payment_method"] for r in stg] == [
        "paypal", "unknown", "credit_card", "wire", "unknown", "crypto",
    ]  # fmt: skip
    assert [r["payment_method_group"] for r in stg] == [
        "digital_wallet", "other", "card", "other", "other", "other",
    ]  # fmt: skip
    assert stg[4]["order_amount"] == D("50.00")
    assert flags(stg) == ["valid"] * 6


# --------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------


def test_session_gap_is_strictly_greater_than_timeout():
    users = [user(1, "2024-03-01")]
    events = [
        event(1, 1, "2024-03-02 10:00:00"),
        event(2, 1, "2024-03-02 10:30:00"),  # gap 30:00 -> same session
        event(3, 1, "2024-03-02 11:00:01"),  # gap 30:01 -> new session
        event(4, 1, "2024-03-02 11:30:01.000001"),  # gap 30:00.000001 -> new session
        event(5, 1, "2024-03-02 11:59:59.999999", "click"),  # gap < 30 min -> same
    ]
    out = run(users=users, events=events)
    assert [r["session_id"] for r in out["stg_events"]] == ["1-1", "1-1", "1-2", "1-3", "1-3"]
    s = by(out["int_event_sessions"], "session_id")
    assert sorted(s) == ["1-1", "1-2", "1-3"]
    assert_row(
        s["1-1"],
        {
            "user_id": 1,
            "session_start": datetime(2024, 3, 2, 10, 0),
            "session_end": datetime(2024, 3, 2, 10, 30),
            "events_in_session": 2,
            "unique_event_types": 1,
            "session_duration_minutes": 30.0,
            "session_outcome": "browsed",
        },
    )
    assert_row(s["1-2"], {"events_in_session": 1, "session_duration_minutes": 0.0})
    assert_row(s["1-2"], {"session_outcome": "bounced"})
    # 11:30:01.000001 -> 11:59:59.999999 is 29:58.999998
    assert_row(
        s["1-3"],
        {
            "session_duration_minutes": (29 * 60 + 58.999998) / 60.0,
            "unique_event_types": 2,
            "first_event_type": "pageview",
            "last_event_type": "click",
        },
    )
    assert out["user_metrics"][0]["total_sessions"] == 3


def test_thirteen_hour_burst_is_cut_into_twelve_hour_windows():
    users = [user(1, "2024-03-01")]
    start = datetime(2024, 3, 2)
    # every 20 minutes for 13 hours: minutes 0, 20, ..., 780 -> 40 events, all gaps 20 min
    events = [event(i + 1, 1, start + timedelta(minutes=20 * i)) for i in range(40)]
    out = run(users=users, events=events)
    ids = [r["session_id"] for r in out["stg_events"]]
    # minutes 0..700 (36 events) fall in window 0; 720..780 (4 events) in window 1
    assert ids == ["1-1"] * 36 + ["1-2"] * 4
    s = by(out["int_event_sessions"], "session_id")
    assert_row(
        s["1-1"],
        {
            "session_start": datetime(2024, 3, 2, 0, 0),
            "session_end": datetime(2024, 3, 2, 11, 40),
            "events_in_session": 36,
            "session_duration_minutes": 700.0,
            "pageviews_in_session": 36,
            "session_outcome": "engaged",
        },
    )
    assert_row(
        s["1-2"],
        {
            "session_start": datetime(2024, 3, 2, 12, 0),
            "session_end": datetime(2024, 3, 2, 13, 0),
            "events_in_session": 4,
            "session_duration_minutes": 60.0,
            "session_outcome": "browsed",
        },
    )
    day = by(out["daily_summary"], "report_date")[date(2024, 3, 2)]
    assert_row(day, {"total_events": 40, "total_sessions": 2, "avg_events_per_session": 20.0})


def test_windows_restart_with_each_inactivity_session_and_vars_override():
    users = [user(1, "2024-03-01")]
    start = datetime(2024, 3, 2)
    # timeout 15 min, windows of 1 hour. Every 10 minutes from 00:00 to 01:10 (8 events),
    # then a 20-minute gap, then every 10 minutes from 01:30 to 02:40 (8 events).
    minutes = [10 * i for i in range(8)] + [90 + 10 * i for i in range(8)]
    events = [event(i + 1, 1, start + timedelta(minutes=m)) for i, m in enumerate(minutes)]
    out = run(
        users=users,
        events=events,
        vars={"session_timeout_minutes": 15, "max_session_duration_hours": 1},
    )
    # 00:00-00:50 window 0, 01:00-01:10 window 1; the new session's windows count from 01:30:
    # 01:30-02:20 window 0, 02:30-02:40 window 1
    assert [r["session_id"] for r in out["stg_events"]] == (
        ["1-1"] * 6 + ["1-2"] * 2 + ["1-3"] * 6 + ["1-4"] * 2
    )


def test_session_order_uses_event_id_as_number_and_spans_midnight():
    users = [user(7, "2024-03-01")]
    events = [
        event(10, 7, "2024-03-05 23:50", "click"),
        event(9, 7, "2024-03-05 23:50", "login"),
        event(11, 7, "2024-03-06 00:10", "purchase"),
    ]
    out = run(users=users, events=events)
    assert [r["session_id"] for r in out["stg_events"]] == ["7-1", "7-1", "7-1"]
    (s,) = out["int_event_sessions"]
    assert_row(
        s,
        {
            "user_id": 7,
            "session_id": "7-1",
            "events_in_session": 3,
            "unique_event_types": 3,
            "session_duration_minutes": 20.0,
            "purchases_in_session": 1,
            "pageviews_in_session": 0,
            "session_outcome": "converted",
            "first_event_type": "login",  # event 9 before event 10 (9 < 10 as numbers)
            "last_event_type": "purchase",
        },
    )
    days = by(out["daily_summary"], "report_date")
    assert days[date(2024, 3, 5)]["total_sessions"] == 1
    assert days[date(2024, 3, 6)]["total_sessions"] == 1
    assert out["int_user_activity"][0]["total_sessions"] == 1


# --------------------------------------------------------------------------------------------
# A full small scenario: intermediate models and marts
# --------------------------------------------------------------------------------------------

SCENARIO_USERS = [
    user(1, "2024-01-15 09:00", email="A@Ex.com", country=" us ", referrer=" Google "),
    user(2, "2024-01-20 10:00", email="b@ex.com"),
    user(3, "2024-03-01 08:00"),
    user(4, "2024-01-05 00:00"),
    user(5, "2024-02-10 00:00"),
]
SCENARIO_EVENTS = [
    event(1, 1, "2024-01-15 10:00", "pageview"),
    event(2, 1, "2024-01-15 10:10", "purchase"),
    event(3, 1, "2024-03-10 09:00", "pageview"),
    event(4, 1, "2024-03-10 09:05", "login"),
    event(5, 2, "2024-02-01 12:00", "pageview"),
    event(6, 2, "2024-03-14 12:00", "pageview"),
    event(7, 3, "2024-03-01 08:30", "signup"),
    event(8, 4, "2024-02-01 00:00", "click"),
]
SCENARIO_ORDERS = [
    order(1, 1, "2024-01-15 10:10", "120.50", "subscription", "credit_card"),
    order(2, 1, "2024-03-10 09:06", 200.00, "addon", "paypal"),
    order(3, 2, "2024-02-01 12:05", "30", "Books", " WIRE "),
    order(4, 4, "2024-02-01 00:10", "1000.01", None, "crypto"),
    order(5, 2, "2024-03-14 12:30", "19.995", "BOOKS", None),
]


@pytest.fixture(scope="module")
def scenario() -> dict[str, list[dict]]:
    return run(users=SCENARIO_USERS, events=SCENARIO_EVENTS, orders=SCENARIO_ORDERS)


def test_scenario_all_rows_valid(scenario):
    assert scenario["data_quality_summary"] == [
        {"source_table": "raw_users", "data_quality_flag": "valid", "row_count": 5},
        {"source_table": "raw_events", "data_quality_flag": "valid", "row_count": 8},
        {"source_table": "raw_orders", "data_quality_flag": "valid", "row_count": 5},
    ]
    u1 = scenario["stg_users"][0]
    assert_row(
        u1,
        {
            "user_id": 1,
            "email_hash": md5("a@ex.com"),
            "email_domain": "ex.com",
            "country_code": "US",
            "referrer_source": "google",
            "signup_year": 2024,
            "signup_month": 1,
        },
    )


def test_scenario_int_user_activity(scenario):
    a = by(scenario["int_user_activity"], "user_id")
    assert sorted(a) == [1, 2, 3, 4, 5]
    assert_row(
        a[1],
        {
            "created_at": datetime(2024, 1, 15, 9, 0),
            "country_code": "US",
            "referrer_source": "google",
            "signup_date": date(2024, 1, 15),
            "total_events": 4,
            "active_days": 2,
            "pageviews": 2,
            "purchase_events": 1,
            "login_events": 1,
            "signup_events": 0,
            "total_sessions": 2,
            "avg_events_per_active_day": 2.0,
            "avg_events_per_session": 2.0,
            "purchase_conversion_rate": 0.5,
            "first_event_at": datetime(2024, 1, 15, 10, 0),
            "last_event_at": datetime(2024, 3, 10, 9, 5),
            "days_since_last_activity": 5,
            "user_lifecycle_stage": "engaged",
        },
    )
    assert_row(
        a[2],
        {
            "total_events": 2,
            "active_days": 2,
            "total_sessions": 2,
            "avg_events_per_active_day": 1.0,
            "purchase_conversion_rate": 0.0,
            "days_since_last_activity": 1,
            "user_lifecycle_stage": "new",
        },
    )
    assert_row(
        a[3],
        {
            "signup_events": 1,
            "pageviews": 0,
            "purchase_conversion_rate": 0.0,
            "days_since_last_activity": 14,
            "user_lifecycle_stage": "new",
        },
    )
    # 2024-02-01 -> 2024-03-15: 28 days to Feb 29, + 15 = 43 > 30
    assert_row(a[4], {"days_since_last_activity": 43, "user_lifecycle_stage": "dormant"})
    assert_row(
        a[5],
        {
            "total_events": 0,
            "active_days": 0,
            "total_sessions": 0,
            "avg_events_per_active_day": 0.0,
            "avg_events_per_session": 0.0,
            "first_event_at": None,
            "last_event_at": None,
            "days_since_last_activity": None,
            "user_lifecycle_stage": "inactive",
        },
    )


def test_scenario_int_user_orders(scenario):
    o = by(scenario["int_user_orders"], "user_id")
    assert_row(
        o[1],
        {
            "created_at": datetime(2024, 1, 15, 9, 0),
            "country_code": "US",
            "total_orders": 2,
            "total_revenue": D("320.50"),
            "avg_order_value": 160.25,
            "min_order_value": D("120.50"),
            "max_order_value": D("200.00"),
            "recurring_revenue": D("120.50"),
            "expansion_revenue": D("200.00"),
            "one_time_revenue": D("0.00"),
            "unique_product_categories": 2,
            "unique_payment_methods": 2,
            "preferred_product_category": "addon",  # 1 order each; 200.00 > 120.50
            "preferred_payment_method": "paypal",
            "customer_value_segment": "medium_value",
            "buyer_segment": "repeat_buyer",
        },
    )
    assert_row(
        o[2],
        {
            "total_orders": 2,
            "total_revenue": D("50.00"),
            "avg_order_value": 25.0,
            "min_order_value": D("20.00"),
            "max_order_value": D("30.00"),
            "one_time_revenue": D("50.00"),
            "unique_product_categories": 1,
            "unique_payment_methods": 2,
            "preferred_product_category": "books",
            "preferred_payment_method": "wire",  # 1 each; 30.00 > 20.00
            "customer_value_segment": "low_value",
            "buyer_segment": "repeat_buyer",
        },
    )
    assert_row(
        o[4],
        {
            "total_revenue": D("1000.01"),
            "one_time_revenue": D("1000.01"),
            "preferred_product_category": "unknown",
            "preferred_payment_method": "crypto",
            "customer_value_segment": "high_value",
            "buyer_segment": "one_time_buyer",
        },
    )
    for uid in (3, 5):
        assert_row(
            o[uid],
            {
                "total_orders": 0,
                "total_revenue": D("0.00"),
                "avg_order_value": 0.0,
                "min_order_value": None,
                "max_order_value": None,
                "recurring_revenue": D("0.00"),
                "expansion_revenue": D("0.00"),
                "one_time_revenue": D("0.00"),
                "unique_product_categories": 0,
                "unique_payment_methods": 0,
                "preferred_product_category": None,
                "preferred_payment_method": None,
                "customer_value_segment": "no_purchases",
                "buyer_segment": "non_buyer",
            },
        )


def test_scenario_int_event_sessions(scenario):
    s = by(scenario["int_event_sessions"], "session_id")
    assert sorted(s) == ["1-1", "1-2", "2-1", "2-2", "3-1", "4-1"]
    assert_row(
        s["1-1"],
        {
            "user_id": 1,
            "session_start": datetime(2024, 1, 15, 10, 0),
            "session_end": datetime(2024, 1, 15, 10, 10),
            "events_in_session": 2,
            "unique_event_types": 2,
            "session_duration_minutes": 10.0,
            "pageviews_in_session": 1,
            "purchases_in_session": 1,
            "session_outcome": "converted",
            "first_event_type": "pageview",
            "last_event_type": "purchase",
        },
    )
    assert_row(
        s["1-2"],
        {
            "session_duration_minutes": 5.0,
            "session_outcome": "browsed",
            "first_event_type": "pageview",
            "last_event_type": "login",
        },
    )
    assert_row(s["3-1"], {"session_outcome": "bounced", "first_event_type": "signup"})
    assert_row(s["4-1"], {"user_id": 4, "last_event_type": "click"})


def test_scenario_user_metrics(scenario):
    m = by(scenario["user_metrics"], "user_id")
    # ages: Jan 15 -> Mar 15 = 16 + 29 + 15 = 60; Jan 20 -> 11 + 29 + 15 = 55;
    # Mar 1 -> 14; Jan 5 -> 26 + 29 + 15 = 70; Feb 10 -> 19 + 15 = 34
    assert_row(
        m[1],
        {
            "signup_date": date(2024, 1, 15),
            "total_events": 4,
            "active_days": 2,
            "pageviews": 2,
            "total_sessions": 2,
            "user_lifecycle_stage": "engaged",
            "days_since_last_activity": 5,
            "total_orders": 2,
            "total_revenue": D("320.50"),
            "avg_order_value": 160.25,
            "customer_value_segment": "medium_value",
            "buyer_segment": "repeat_buyer",
            "preferred_product_category": "addon",
            "overall_conversion_rate": 1.0,
            "revenue_per_active_day": 160.25,
            "customer_age_days": 60,
            "daily_customer_value": 320.5 / 60,
            "user_quality_score": 34,  # 2*2 + 5*2 + 20
        },
    )
    assert_row(
        m[2],
        {
            "overall_conversion_rate": 1.0,
            "revenue_per_active_day": 25.0,
            "customer_age_days": 55,
            "daily_customer_value": 50 / 55,
            "user_quality_score": 14,  # 2*2 + 5*2
        },
    )
    assert_row(
        m[3],
        {
            "overall_conversion_rate": 0.0,
            "revenue_per_active_day": 0.0,
            "customer_age_days": 14,
            "daily_customer_value": 0.0,
            "user_quality_score": 2,
        },
    )
    assert_row(
        m[4],
        {
            "overall_conversion_rate": 0.0,  # 1 order, 0 pageviews
            "revenue_per_active_day": 1000.01,
            "customer_age_days": 70,
            "daily_customer_value": 1000.01 / 70,
            "user_quality_score": 27,  # 2*1 + 5*1 + 20
        },
    )
    assert_row(
        m[5],
        {
            "total_revenue": D("0.00"),
            "avg_order_value": 0.0,
            "preferred_product_category": None,
            "user_lifecycle_stage": "inactive",
            "days_since_last_activity": None,
            "customer_age_days": 34,
            "daily_customer_value": 0.0,
            "user_quality_score": 0,
        },
    )


def test_scenario_cohort_summary(scenario):
    c = scenario["cohort_summary"]
    assert [r["cohort_month"] for r in c] == [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]
    assert_row(
        c[0],
        {
            "cohort_size": 3,
            "buyers_in_cohort": 3,
            "cohort_revenue": D("1370.51"),  # 320.50 + 50.00 + 1000.01
            "avg_revenue_per_user": 1370.51 / 3,
            "active_users": 0,
            "engaged_users": 1,
            "dormant_users": 1,
            "buyer_conversion_rate_pct": 100.0,
            "active_retention_rate_pct": 0.0,
            "engaged_retention_rate_pct": 100 / 3,
            "avg_revenue_per_buyer": 1370.51 / 3,
            "avg_customer_age_days": (60 + 55 + 70) / 3,
            "median_customer_age_days": 60.0,
        },
    )
    assert_row(
        c[1],
        {
            "cohort_size": 1,
            "buyers_in_cohort": 0,
            "cohort_revenue": D("0.00"),
            "avg_revenue_per_user": 0.0,
            "active_users": 0,
            "engaged_users": 0,
            "dormant_users": 0,
            "buyer_conversion_rate_pct": 0.0,
            "engaged_retention_rate_pct": 0.0,
            "avg_revenue_per_buyer": 0.0,
            "avg_customer_age_days": 34.0,
            "median_customer_age_days": 34.0,
        },
    )
    assert_row(c[2], {"cohort_size": 1, "avg_customer_age_days": 14.0})


def test_median_is_continuous():
    users = [user(1, "2024-03-01"), user(2, "2024-03-04")]  # ages 14 and 11
    (c,) = run(users=users)["cohort_summary"]
    assert_row(c, {"median_customer_age_days": 12.5, "avg_customer_age_days": 12.5})


def test_scenario_cohort_retention(scenario):
    rows = [
        (r["cohort_month"], r["months_since_signup"], r["cohort_size"], r["active_users"])
        for r in scenario["cohort_retention"]
    ]
    assert rows == [
        (date(2024, 1, 1), 0, 3, 1),  # Jan: user 1
        (date(2024, 1, 1), 1, 3, 2),  # Feb: users 2 and 4
        (date(2024, 1, 1), 2, 3, 2),  # Mar: users 1 and 2
        (date(2024, 2, 1), 0, 1, 0),  # user 5 never active
        (date(2024, 2, 1), 1, 1, 0),
        (date(2024, 3, 1), 0, 1, 1),  # user 3
    ]
    pct = [r["retention_rate_pct"] for r in scenario["cohort_retention"]]
    assert pct == pytest.approx([100 / 3, 200 / 3, 200 / 3, 0.0, 0.0, 100.0])


def test_cohort_retention_across_year_boundary():
    users = [user(1, "2023-11-30 23:00")]
    events = [event(1, 1, "2024-01-01 00:00")]
    rows = run(users=users, events=events, as_of=date(2024, 2, 1))["cohort_retention"]
    assert [(r["months_since_signup"], r["active_users"]) for r in rows] == [
        (0, 0), (1, 0), (2, 1), (3, 0),
    ]  # fmt: skip
    assert all(r["cohort_month"] == date(2023, 11, 1) for r in rows)


def test_scenario_product_summary(scenario):
    p = scenario["product_summary"]
    assert [r["product_category"] for r in p] == ["addon", "books", "subscription", "unknown"]
    p = by(p, "product_category")
    assert_row(
        p["books"],
        {
            "total_orders": 2,
            "unique_buyers": 1,
            "total_revenue": D("50.00"),
            "avg_order_value": 25.0,
            "recurring_revenue": D("0.00"),
            "expansion_revenue": D("0.00"),
            "one_time_revenue": D("50.00"),
            "credit_card_orders": 0,
            "paypal_orders": 0,
            "wire_orders": 1,
            "other_payment_orders": 1,
            "revenue_per_order": 25.0,
            "revenue_per_buyer": 50.0,
        },
    )
    assert_row(
        p["addon"],
        {"expansion_revenue": D("200.00"), "paypal_orders": 1, "other_payment_orders": 0},
    )
    assert_row(
        p["subscription"],
        {"recurring_revenue": D("120.50"), "credit_card_orders": 1, "revenue_per_buyer": 120.5},
    )
    assert_row(
        p["unknown"],
        {"one_time_revenue": D("1000.01"), "other_payment_orders": 1, "total_orders": 1},
    )


def test_scenario_daily_summary(scenario):
    d = scenario["daily_summary"]
    # first day: user 4's signup on 2024-01-05; last: 2024-03-14 (user 2's event and order)
    # 27 days in January (5..31) + 29 in February + 14 in March
    assert len(d) == 70
    assert [r["report_date"] for r in d] == [
        date(2024, 1, 5) + timedelta(days=i) for i in range(70)
    ]
    days = by(d, "report_date")
    assert_row(
        days[date(2024, 1, 5)],
        {"new_signups": 1, "total_events": 0, "total_orders": 0, "daily_revenue": D("0.00")},
    )
    assert_row(
        days[date(2024, 1, 15)],
        {
            "total_events": 2,
            "active_users": 1,
            "total_sessions": 1,
            "pageviews": 1,
            "purchase_events": 1,
            "signup_events": 0,
            "new_signups": 1,
            "total_orders": 1,
            "unique_buyers": 1,
            "daily_revenue": D("120.50"),
            "avg_order_value": 120.5,
            "conversion_rate_pct": 100.0,
            "buyer_rate_pct": 100.0,
            "avg_events_per_session": 2.0,
        },
    )
    assert_row(
        days[date(2024, 1, 16)],
        {
            "total_events": 0,
            "active_users": 0,
            "total_sessions": 0,
            "new_signups": 0,
            "total_orders": 0,
            "daily_revenue": D("0.00"),
            "avg_order_value": 0.0,
            "conversion_rate_pct": 0.0,
            "buyer_rate_pct": 0.0,
            "avg_events_per_session": 0.0,
        },
    )
    assert_row(
        days[date(2024, 2, 1)],
        {
            "total_events": 2,
            "active_users": 2,
            "total_sessions": 2,
            "pageviews": 1,
            "total_orders": 2,
            "unique_buyers": 2,
            "daily_revenue": D("1030.01"),
            "avg_order_value": 515.005,
            "conversion_rate_pct": 200.0,
            "buyer_rate_pct": 100.0,
            "avg_events_per_session": 1.0,
        },
    )
    assert_row(days[date(2024, 3, 1)], {"signup_events": 1, "new_signups": 1})
    assert_row(days[date(2024, 3, 14)], {"daily_revenue": D("20.00"), "total_orders": 1})
    assert sum(r["daily_revenue"] for r in d) == D("1370.51")
    assert sum(r["total_events"] for r in d) == 8
    assert sum(r["new_signups"] for r in d) == 5


def test_scenario_revenue_invariant(scenario):
    total = D("1370.51")
    stg = scenario["stg_orders"]
    assert sum(r["order_amount"] for r in stg if r["data_quality_flag"] == "valid") == total
    for model, col in [
        ("int_user_orders", "total_revenue"),
        ("user_metrics", "total_revenue"),
        ("product_summary", "total_revenue"),
        ("daily_summary", "daily_revenue"),
        ("cohort_summary", "cohort_revenue"),
    ]:
        assert sum(r[col] for r in scenario[model]) == total, model


# --------------------------------------------------------------------------------------------
# Daily spine, preferred ties, segments, lifecycle
# --------------------------------------------------------------------------------------------


def test_daily_spine_with_empty_day_and_buyers_without_events():
    users = [user(1, "2024-03-01 10:00"), user(2, "2024-03-01 11:00")]
    events = [event(1, 1, "2024-03-01 10:00"), event(2, 1, "2024-03-03 10:00")]
    orders = [
        order(1, 1, "2024-03-03 12:00", "10"),
        order(2, 2, "2024-03-03 12:00", "15"),
        order(3, 1, "2024-03-04 09:00", "5"),
    ]
    d = run(users=users, events=events, orders=orders)["daily_summary"]
    assert [r["report_date"] for r in d] == [date(2024, 3, i) for i in (1, 2, 3, 4)]
    assert_row(
        d[0],
        {
            "total_events": 1,
            "active_users": 1,
            "total_sessions": 1,
            "pageviews": 1,
            "new_signups": 2,
            "total_orders": 0,
            "daily_revenue": D("0.00"),
            "avg_order_value": 0.0,
            "conversion_rate_pct": 0.0,
            "buyer_rate_pct": 0.0,
            "avg_events_per_session": 1.0,
        },
    )
    assert_row(
        d[1],
        {
            "total_events": 0,
            "active_users": 0,
            "total_sessions": 0,
            "pageviews": 0,
            "purchase_events": 0,
            "signup_events": 0,
            "new_signups": 0,
            "total_orders": 0,
            "unique_buyers": 0,
            "daily_revenue": D("0.00"),
            "avg_order_value": 0.0,
            "conversion_rate_pct": 0.0,
            "buyer_rate_pct": 0.0,
            "avg_events_per_session": 0.0,
        },
    )
    assert_row(
        d[2],
        {
            "total_events": 1,
            "active_users": 1,
            "total_orders": 2,
            "unique_buyers": 2,
            "daily_revenue": D("25.00"),
            "avg_order_value": 12.5,
            "conversion_rate_pct": 200.0,
            "buyer_rate_pct": 200.0,  # buyer 2 had no event that day
        },
    )
    assert_row(
        d[3],
        {
            "total_events": 0,
            "total_orders": 1,
            "unique_buyers": 1,
            "daily_revenue": D("5.00"),
            "avg_order_value": 5.0,
            "conversion_rate_pct": 0.0,
            "buyer_rate_pct": 0.0,
        },
    )


def test_daily_summary_empty_without_valid_rows():
    out = run(users=[user(None, "2024-03-01")], events=[event(1, 1, "2024-03-01")])
    assert out["daily_summary"] == []
    assert out["cohort_retention"] == []
    assert out["cohort_summary"] == []
    assert out["user_metrics"] == []


def test_preferred_category_and_payment_ties():
    users = [user(i, "2024-03-01") for i in (1, 2, 3, 4)]
    ts = "2024-03-02"
    orders = [
        order(1, 1, ts, "30.00", "b", "paypal"),
        order(2, 1, ts, "30.00", "a", "credit_card"),  # full tie -> alphabetical
        order(3, 2, ts, "10.00", "a", "wire"),
        order(4, 2, ts, "20.00", "b", "paypal"),  # count tie -> larger revenue
        order(5, 3, ts, "100.00", "games", "wire"),
        order(6, 3, ts, "10.00", "books", "wire"),
        order(7, 3, ts, "20.00", "books", "wire"),  # most orders beats revenue
        order(8, 4, ts, "50.00", "  ", "paypal"),
        order(9, 4, ts, "40.00", "zeta", "wire"),  # 'unknown' is a value like any other
    ]
    o = by(run(users=users, orders=orders)["int_user_orders"], "user_id")
    assert (o[1]["preferred_product_category"], o[1]["preferred_payment_method"]) == (
        "a",
        "credit_card",
    )
    assert (o[2]["preferred_product_category"], o[2]["preferred_payment_method"]) == (
        "b",
        "paypal",
    )
    assert (o[3]["preferred_product_category"], o[3]["preferred_payment_method"]) == (
        "books",
        "wire",
    )
    assert (o[4]["preferred_product_category"], o[4]["preferred_payment_method"]) == (
        "unknown",
        "paypal",
    )


def test_value_and_buyer_segments_and_score_cap():
    users = [user(i, "2024-03-01") for i in (1, 2, 3, 4, 5)]
    ts = "2024-03-02"
    orders = (
        [order(100 + i, 1, ts, "50.00") for i in range(6)]  # 300.00: not > 300
        + [order(200, 2, ts, "300.01")]
        + [order(300 + i, 3, ts, "200.00") for i in range(5)]  # 1000.00: not > 1000
        + [order(400, 4, ts, "1000.01")]
        + [order(500 + i, 5, ts, "1.00") for i in range(21)]
    )
    m = by(run(users=users, orders=orders)["user_metrics"], "user_id")
    expected = {
        1: ("low_value", "loyal_buyer", D("300.00"), 50),  # 5*6 + 20
        2: ("medium_value", "one_time_buyer", D("300.01"), 25),  # 5 + 20
        3: ("medium_value", "repeat_buyer", D("1000.00"), 45),  # 5*5 + 20
        4: ("high_value", "one_time_buyer", D("1000.01"), 25),
        5: ("low_value", "loyal_buyer", D("21.00"), 100),  # 5*21 = 105 -> 100
    }
    for uid, (value, buyer, revenue, score) in expected.items():
        assert_row(
            m[uid],
            {
                "customer_value_segment": value,
                "buyer_segment": buyer,
                "total_revenue": revenue,
                "user_quality_score": score,
            },
        )


def _events_on(uid: int, start_id: int, days: list[tuple[str, int]]) -> list[dict]:
    """n events at 10:00, 10:01, ... on each (date, n)."""
    out = []
    eid = start_id
    for day, n in days:
        for k in range(n):
            out.append(event(eid, uid, f"{day} 10:{k:02d}"))
            eid += 1
    return out


def test_lifecycle_stages():
    users = [user(i, "2024-01-01") for i in range(1, 8)]
    events = (
        _events_on(1, 100, [("2024-03-01", 4), ("2024-03-02", 3), ("2024-03-03", 3)])
        + _events_on(2, 200, [("2024-03-01", 5), ("2024-03-02", 5)])
        + _events_on(3, 300, [("2024-03-01", 3), ("2024-03-02", 3), ("2024-03-03", 3)])
        + _events_on(4, 400, [("2024-02-11", 4), ("2024-02-12", 3), ("2024-02-13", 3)])
        + _events_on(5, 500, [("2024-02-14", 1)])
        + _events_on(6, 600, [("2024-03-15", 3)])
        + _events_on(7, 700, [("2024-03-15", 2)])
    )
    out = run(users=users, events=events)
    a = by(out["int_user_activity"], "user_id")
    stages = {
        uid: (r["user_lifecycle_stage"], r["days_since_last_activity"]) for uid, r in a.items()
    }
    assert stages == {
        1: ("active", 12),  # 10 events, 3 days
        2: ("engaged", 13),  # 10 events, 2 days (last on Mar 2)
        3: ("engaged", 12),  # 9 events, 3 days
        4: ("dormant", 31),  # Feb 13 -> Mar 15 = 16 + 15 = 31 > 30
        5: ("new", 30),  # 30 is not > 30
        6: ("engaged", 0),
        7: ("new", 0),
    }
    m = by(out["user_metrics"], "user_id")
    assert m[1]["user_quality_score"] == 21  # 2*3 + 15
    assert m[4]["user_quality_score"] == 6  # 2*3, dormant gets no bonus
    c = out["cohort_summary"][0]
    assert_row(
        c,
        {
            "cohort_size": 7,
            "active_users": 1,
            "engaged_users": 3,
            "dormant_users": 1,
            "active_retention_rate_pct": 100 / 7,
            "engaged_retention_rate_pct": 400 / 7,
        },
    )
    relaxed = run(users=users, events=events, vars={"dormant_after_days": 40})
    assert by(relaxed["int_user_activity"], "user_id")[4]["user_lifecycle_stage"] == "active"


def test_vars_min_order_amount_and_mappings():
    users = [user(1, "2024-03-01")]
    events = [event(1, 1, "2024-03-02", "pageview"), event(2, 1, "2024-03-03", "login")]
    orders = [order(1, 1, "2024-03-02", "4.99"), order(2, 1, "2024-03-02", "5.00")]
    out = run(
        users=users,
        events=events,
        orders=orders,
        vars={"min_order_amount": 5, "event_category_mapping": {"pageview": "view"}},
    )
    assert flags(out["stg_orders"]) == ["invalid_amount", "valid"]
    assert out["stg_orders"][0]["order_amount"] == D("4.99")
    assert [r["event_category"] for r in out["stg_events"]] == ["view", "other"]


def test_values_with_an_at_sign_never_reach_a_mart():
    from datetime import date

    from reference.contract import compute

    raw = {
        "raw_users": [{"user_id": "1", "email": "a@x.com", "country": "me@cc.io",
                       "referrer": " Bob@Mail.com ", "created_at": "2025-01-01"}],
        "raw_events": [],
        "raw_orders": [{"order_id": "1", "user_id": "1", "amount": "5", "product_category": "x@y",
                        "payment_method": "paypal", "created_at": "2025-01-02"}],
    }
    out = compute(raw, date(2025, 12, 31))
    user = out["user_metrics"][0]
    assert (user["country_code"], user["referrer_source"], user["preferred_product_category"]) == (
        None,
        None,
        "unknown",
    )
    assert [r["product_category"] for r in out["product_summary"]] == ["unknown"]
