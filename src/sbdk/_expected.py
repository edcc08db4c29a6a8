"""The data-quality flags of the model contract, applied to raw tables in plain DuckDB SQL.

This is an implementation of the contract's staging rules as the staging models' YAML documents
them (flags, precedence, parsing of ids, timestamps and amounts, ties among duplicates), independent
of the dbt models: the
tests and ``sbdk generate --dirty`` use it (``expected_flags_for_file``) to know the flags of
the generated rows exactly, and the dbt models are then checked against those numbers. It
reads every raw column as text (typed columns are cast to VARCHAR first), so it gives the
same answer for the typed tables of a clean run and the VARCHAR tables of a dirty run.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb

from sbdk._duckfile import connect_file
from sbdk._sql import quote_ident as _q
from sbdk.contract import FLAGS, TABLE_NAMES

#: DuckDB's memory limit while counting the flags of a file (parsing 10M+ text rows, ranking
#: duplicates); it spills to a temporary directory beside the file beyond it.
FLAGS_MEMORY_LIMIT = "512MB"

# ISO 8601 as the contract reads it: date, optional ' '/'T' + HH:MM[:SS[.f{1,6}]], optional
# offset (+HH:MM, -HH:MM or Z) right after the time. No surrounding spaces.
_TS_RE = (
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)
_ID_RE = r"[+-]?[0-9]+"
_AMOUNT_RE = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"


def _text(col: str) -> str:
    return f"cast({_q(col)} as varchar)"


def _id(col: str) -> str:
    t = f"trim({_text(col)})"
    return f"(case when regexp_full_match({t}, '{_ID_RE}') then try_cast({t} as bigint) end)"


def _ts(col: str) -> str:
    """Expression parsing a raw timestamp text to a UTC TIMESTAMP (NULL when it does not).

    The regular expression fixes the shape; DuckDB's cast then reads the date and time
    (rejecting dates that do not exist), the explicit range checks reject what the cast is
    lenient about (hour 24), and the offset is applied to give UTC.
    """
    x = _text(col)
    has_time = f"length({x}) > 10"
    has_off = f"({has_time} and substr({x}, -6, 1) in ('+', '-'))"
    has_z = f"right({x}, 1) = 'Z'"
    base = (
        f"(case when {has_off} then left({x}, length({x}) - 6) "
        f"when {has_z} then left({x}, length({x}) - 1) else {x} end)"
    )
    off_min = (
        f"(case when {has_off} then (case when substr({x}, -6, 1) = '-' then -1 else 1 end)"
        f" * (cast(substr({x}, -5, 2) as integer) * 60 + cast(substr({x}, -2, 2) as integer))"
        f" else 0 end)"
    )
    in_range = (
        f"(not {has_time} or (substr({x}, 12, 2) <= '23' and substr({x}, 15, 2) <= '59'"
        f" and (length({base}) < 19 or substr({x}, 18, 2) <= '59')))"
    )
    return (
        f"(case when regexp_full_match({x}, '{_TS_RE}') and {in_range} "
        f"then try_cast({base} as timestamp) - to_minutes({off_min}) end)"
    )


def _text_norm(col: str, *, case: str = "lower", unknown: bool = False) -> str:
    v = f"nullif({case}(trim({_text(col)})), '')"
    return f"coalesce({v}, 'unknown')" if unknown else v


def _amount(col: str) -> str:
    t = f"trim({_text(col)})"
    return (
        f"(case when regexp_full_match({t}, '{_AMOUNT_RE}') "
        f"then try_cast({t} as decimal(38, 10)) end)"
    )


def _users_sql(table: str, as_of_end: str) -> str:
    """The users parsed and flagged, into TEMP table ``__sbdk_u`` (uid, ts, flag)."""
    return f"""
create or replace temp table __sbdk_u as
with p as (
    select
        {_id('user_id')} as uid,
        {_ts('created_at')} as ts,
        md5({_text_norm('email')}) as email_hash,
        {_text_norm('email')} as nemail,
        {_text_norm('country', case='upper')} as cc,
        {_text_norm('referrer')} as ref
    from {table}
),
f1 as (
    select *,
        case
            when uid is null then 'missing_id'
            when ts is null then 'missing_created_at'
            when ts >= {as_of_end} then 'future_timestamp'
        end as f1
    from p
),
f2 as (
    select *,
        coalesce(f1, case when row_number() over (
            partition by uid, f1 is null
            order by ts, email_hash nulls last, cc nulls last, ref nulls last
        ) > 1 then 'duplicate_id' end) as f2
    from f1
)
select uid, ts,
    coalesce(f2, case when nemail is not null and row_number() over (
        partition by nemail, f2 is null order by ts, uid
    ) > 1 then 'duplicate_email' end, 'valid') as flag
from f2
"""


def _events_sql(table: str) -> str:
    """The events parsed, with the flags that need no other row (f1), into ``__sbdk_e``."""
    return f"""
create or replace temp table __sbdk_e as
select *,
    case
        when eid is null then 'missing_id'
        when uid is null then 'missing_user_id'
        when ts is null then 'missing_timestamp'
    end as f1
from (
    select
        {_id('event_id')} as eid,
        {_id('user_id')} as uid,
        {_ts('timestamp')} as ts,
        {_text_norm('event_type', unknown=True)} as etype,
        {_text_norm('utm_source')} as utm
    from {table}
)
"""


def _orders_sql(table: str) -> str:
    """The orders parsed, with the flags that need no other row (f1), into ``__sbdk_o``."""
    return f"""
create or replace temp table __sbdk_o as
select *,
    case
        when oid is null then 'missing_id'
        when uid is null then 'missing_user_id'
        when ts is null then 'missing_timestamp'
        when amt is null or amt_r < 0.01 or abs(amt_r) >= 1e16 then 'invalid_amount'
    end as f1
from (
    select *, round(amt, 2) as amt_r
    from (
        select
            {_id('order_id')} as oid,
            {_id('user_id')} as uid,
            {_ts('created_at')} as ts,
            {_amount('amount')} as amt,
            {_text_norm('product_category', unknown=True)} as cat,
            {_text_norm('payment_method', unknown=True)} as pay
        from {table}
    )
)
"""


def _dedup_sql(tmp: str, key: str, order: str) -> str:
    """rowid and rank of the rows, among those no earlier rule flagged, whose key occurs
    more than once (rank 1 is kept, the others are duplicate_id)."""
    return f"""
        select rowid as rid, row_number() over (partition by {key} order by {order}) as rn
        from {tmp}
        where f1 is null and {key} in (
            select {key} from {tmp} where f1 is null group by {key} having count(*) > 1
        )"""


def _facts_flags_sql(tmp: str, key: str, order: str, as_of_end: str) -> str:
    """(flag, count) of the events or orders in ``tmp``: f1, then duplicate_id, then the
    rules that look at the user (the valid users of ``__sbdk_u``) and the as-of date."""
    return f"""
with dups as ({_dedup_sql(tmp, key, order)}),
valid_users as (select uid, ts as signup_ts from __sbdk_u where flag = 'valid')
select flag, count(*) from (
    select coalesce(
        t.f1,
        case when d.rn > 1 then 'duplicate_id' end,
        case
            when v.uid is null then 'unknown_user'
            when t.ts >= {as_of_end} then 'future_timestamp'
            when t.ts < v.signup_ts then 'before_signup'
            else 'valid'
        end
    ) as flag
    from {tmp} as t
    left join dups as d on d.rid = t.rowid
    left join valid_users as v on v.uid = t.uid
)
group by flag
"""


def _statements(tables: dict[str, str], as_of_date: date) -> list[tuple[str | None, str]]:
    """(source table or None, SQL) steps computing the flags; the steps tagged with a table
    return (data_quality_flag, row_count) rows for it.

    Parsed rows go to narrow TEMP tables (parsing is the expensive part, so it runs once);
    duplicates are ranked only within ids that occur more than once, which keeps the memory
    of a 10M-row table small.
    """
    # the first instant after the as-of date: rows on or after it are in the future
    as_of_end = f"timestamp '{(as_of_date + timedelta(days=1)).isoformat()} 00:00:00'"
    return [
        (None, _users_sql(tables["raw_users"], as_of_end)),
        ("raw_users", "select flag, count(*) from __sbdk_u group by flag"),
        (None, _events_sql(tables["raw_events"])),
        ("raw_events", _facts_flags_sql("__sbdk_e", "eid", "ts, uid, etype, utm nulls last", as_of_end)),
        (None, "drop table __sbdk_e"),
        (None, _orders_sql(tables["raw_orders"])),
        (
            "raw_orders",
            _facts_flags_sql(
                "__sbdk_o", "oid", "ts, uid, amt_r nulls last, cat nulls last, pay nulls last", as_of_end
            ),
        ),
        (None, "drop table __sbdk_o"),
        (None, "drop table __sbdk_u"),
    ]


def compute_expected_flags(
    conn: duckdb.DuckDBPyConnection, tables: dict[str, str], as_of_date: date
) -> dict[str, dict[str, int]]:
    """Apply the contract to the raw tables; {table: {flag: count}} without zero counts.

    ``tables`` maps 'raw_users'/'raw_events'/'raw_orders' to qualified, quoted table names.
    Uses (and drops) TEMP tables named ``__sbdk_u``/``__sbdk_e``/``__sbdk_o``.
    """
    out: dict[str, dict[str, int]] = {t: {} for t in TABLE_NAMES}
    try:
        for table, sql in _statements(tables, as_of_date):
            rows = conn.execute(sql).fetchall()
            if table is not None:
                for flag, n in rows:
                    out[table][flag] = int(n)
    finally:
        for tmp in ("__sbdk_u", "__sbdk_e", "__sbdk_o"):
            conn.execute(f"drop table if exists temp.{tmp}")
    # flags in order of precedence
    return {t: {f: out[t][f] for f in FLAGS[t] if f in out[t]} for t in TABLE_NAMES}


def expected_flags_for_file(
    db_path: str | Path, schema: str, as_of_date: date
) -> dict[str, dict[str, int]]:
    """Apply the contract to ``<schema>.raw_*`` of a DuckDB file (e.g. what ``generate`` wrote,
    with ``as_of_date`` its ``end``); {table: {flag: count}}, flags in order of precedence."""
    conn = connect_file(db_path, read_only=True)
    try:
        conn.execute(f"SET memory_limit = '{FLAGS_MEMORY_LIMIT}'")
        tables = {t: f"{_q(schema)}.{_q(t)}" for t in TABLE_NAMES}
        return compute_expected_flags(conn, tables, as_of_date)
    finally:
        conn.close()
