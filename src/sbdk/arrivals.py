"""Arrival batches: what a loader appends to the raw tables each day, late rows included.

`sbdk generate` stamps every row it writes with the time it was loaded, in the loaded-at
column of the contract (``_loaded_at``, a UTC timestamp): `initial_load_time` of the last
activity day, 06:00 the morning after. `append_arrivals` then adds one day's batch to those
tables, in one transaction:

* the batch's day D is the day of the last load (the day after the newest data); its rows are
  stamped D + 1 day at 06:00;
* **new rows of day D**: events and orders of about ``share`` of the users (each repeats about
  80 % of that user's own events and orders, at a random second of D), and new users with a
  signup, a pageview and a click on D;
* **late rows**: events and orders of any user, up to 30 days before D (new ids);
* **late earlier copies**: an existing event or order id again, a minute earlier, under the
  next user id: the copy that is kept moves to that user when it is valid;
* **re-delivered rows**: identical copies of rows already loaded;
* **bridging events**: an event half-way into a gap between two of a user's events of the
  last 30 days that is a little longer than the default session timeout (30 to 60 minutes),
  which merges two sessions and renumbers the user's later ones;
* **duplicate emails arriving earlier**: some new users carry the email of an existing user
  (in other case and spacing) with a `created_at` a day before theirs: the existing user becomes
  `duplicate_email`;
* **late users**: half of the new users' events arrive in this batch but their `raw_users` row
  only in the next one (their events are `unknown_user` until then).

Which rows are picked depends on the seed, the batch's day and the rows' own ids (a hash, not
the order DuckDB scans them in), so the same tables and seed give the same batch. The raw
tables may hold typed columns (clean data) or text (`--dirty`): values are read with safe casts
and written back in the column's type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sbdk._sql import quote_ident as _q
from sbdk.contract import TABLE_NAMES

__all__ = ["LOADED_AT", "ArrivalBatch", "NoArrivalBase", "append_arrivals", "initial_load_time"]

#: The loaded-at column the generator writes (the default of the package's var
#: `sbdk_loaded_at_column`).
LOADED_AT = "_loaded_at"
#: When a day's rows are loaded: this long after the day starts (06:00 the next morning).
_LOAD_DELAY = timedelta(days=1, hours=6)
#: Late rows are up to this many days old.
LATE_DAYS = 30
#: The session timeout the bridging events are placed for (the package's default var).
SESSION_TIMEOUT_MINUTES = 30


class NoArrivalBase(ValueError):
    """The raw tables to append to are missing or have no loaded-at column."""


def initial_load_time(end: date) -> datetime:
    """The loaded-at time of the rows of a generation whose last activity day is ``end``."""
    return datetime.combine(end, time()) + _LOAD_DELAY


@dataclass
class ArrivalBatch:
    """One appended batch: its day (the models' as-of date for it), its loaded-at time, the
    rows added per raw table and per kind of row."""

    day: date
    loaded_at: datetime
    rows: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _pick(key: str, seed: int, tag: str) -> str:
    """A number in [0, 1) fixed by ``key``, the seed and ``tag`` (not by the scan order)."""
    return f"(hash({key}, {int(seed)}, '{tag}') % 1000003) / 1000003.0"


def _check_tables(conn, schema: str) -> None:
    found = {
        (name, column)
        for name, column in conn.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_catalog = current_database() and table_schema = ?", [schema]).fetchall()
    }
    tables = {name for name, _ in found}
    missing = [t for t in TABLE_NAMES if t not in tables]
    if missing:
        raise NoArrivalBase(f"no raw table {schema}.{missing[0]} to append to: generate the raw tables first")
    unstamped = [t for t in TABLE_NAMES if (t, LOADED_AT) not in found]
    if unstamped:
        raise NoArrivalBase(f"{schema}.{unstamped[0]} has no {LOADED_AT} column (written by an older sbdk): "
                            "generate the raw tables again to append to them")


def append_arrivals(db: str | Path, *, schema: str = "raw", seed: int = 42, share: float = 0.01) -> ArrivalBatch:
    """Append the next day's arrival batch to the raw tables of ``db`` (see the module's
    docstring) in one transaction; returns what was added."""
    from sbdk._duckfile import connect_file
    from sbdk._signals import sigint_deferred

    if not 0 < share <= 1:
        raise ValueError(f"the share of active users must be more than 0 and at most 1, got {share}")
    conn = connect_file(db)
    try:
        _check_tables(conn, schema)
        s = _q(schema)
        last = max(
            conn.execute(f"select max(try_cast({LOADED_AT} as timestamp)) from {s}.{t}").fetchone()[0] or datetime.min
            for t in TABLE_NAMES)
        if last == datetime.min:
            raise NoArrivalBase(f"the raw tables in {schema} are empty or carry no {LOADED_AT} time: nothing to "
                                "append to")
        first = min(
            conn.execute(f"select min(try_cast({LOADED_AT} as timestamp)) from {s}.{t}").fetchone()[0] or last
            for t in TABLE_NAMES)
        day = last.date()
        batch = ArrivalBatch(day=day, loaded_at=datetime.combine(day, time()) + _LOAD_DELAY)
        conn.execute("begin transaction")
        try:
            before = {t: conn.execute(f"select count(*) from {s}.{t}").fetchone()[0] for t in TABLE_NAMES}
            _append(conn, s, batch, seed=seed + day.toordinal(), share=share, previous=last,
                    late_users_pending=first < last)
            batch.rows = {t: conn.execute(f"select count(*) from {s}.{t}").fetchone()[0] - before[t]
                          for t in TABLE_NAMES}
            conn.execute("commit")
        except BaseException:
            with sigint_deferred():
                conn.execute("rollback")
            raise
    finally:
        conn.close()
    return batch


def _append(conn, s: str, batch: ArrivalBatch, *, seed: int, share: float, previous: datetime,
            late_users_pending: bool) -> None:
    day = f"timestamp '{batch.day.isoformat()}'"
    stamp = f"timestamp '{batch.loaded_at.isoformat(sep=' ')}' as {LOADED_AT}"
    prev = f"timestamp '{previous.isoformat(sep=' ')}'"
    loaded = f"try_cast({LOADED_AT} as timestamp) <= {prev}"

    def pick(key: str, tag: str) -> str:
        return _pick(key, seed, tag)

    def second_of_day(key: str, tag: str) -> str:
        return f"to_seconds(cast({pick(key, tag)} * 86000 as bigint))"

    def insert(table: str, kind: str, select: str) -> None:
        n = conn.execute(f"insert into {s}.{table} by name {select}").fetchone()[0]
        batch.kinds[kind] = batch.kinds.get(kind, 0) + n

    # typed views of the rows loaded before this batch (text columns read with safe casts)
    conn.execute(f"""create or replace temp view arrival_users as
        select try_cast(user_id as bigint) as uid, email, country, referrer,
               try_cast(created_at as timestamp) as created from {s}.raw_users where {loaded}""")
    conn.execute(f"""create or replace temp view arrival_events as
        select try_cast(event_id as bigint) as eid, try_cast(user_id as bigint) as uid, event_type,
               try_cast("timestamp" as timestamp) as ts, utm_source from {s}.raw_events where {loaded}""")
    conn.execute(f"""create or replace temp view arrival_orders as
        select try_cast(order_id as bigint) as oid, try_cast(user_id as bigint) as uid, amount, product_category,
               payment_method, try_cast(created_at as timestamp) as ts from {s}.raw_orders where {loaded}""")
    conn.execute(f"""create or replace temp table arrival_active as
        select distinct uid from arrival_users where uid is not null and {pick('uid', 'active')} < {share}""")
    top_user = conn.execute("select coalesce(max(uid), 0) from arrival_users").fetchone()[0]
    next_event = f"(select coalesce(max(try_cast(event_id as bigint)), 0) from {s}.raw_events)"
    next_order = f"(select coalesce(max(try_cast(order_id as bigint)), 0) from {s}.raw_orders)"

    # the late users of the previous batch: their events came then, their users row comes now
    # (users whose every event was loaded then, with an id above every user's of before)
    if late_users_pending:
        insert("raw_users", "late users", f"""
            select uid as user_id, 'user' || uid || '@example.com' as email, 'Late User ' || uid as name,
                   'US' as country, 'organic' as referrer, first_ts as created_at, {stamp}
            from (select try_cast(user_id as bigint) as uid, min(try_cast("timestamp" as timestamp)) as first_ts,
                         bool_and(try_cast({LOADED_AT} as timestamp) = {prev}) as all_latest
                  from {s}.raw_events group by 1)
            where all_latest and uid > {top_user} and first_ts is not null""")
    top_user = conn.execute(f"select coalesce(max(try_cast(user_id as bigint)), 0) from {s}.raw_users").fetchone()[0]

    # the day's events and orders of the active users
    insert("raw_events", "new events", f"""
        select {next_event} + row_number() over (order by e.eid, e.uid) as event_id, e.uid as user_id,
               e.event_type, {day} + {second_of_day('e.eid', 'event second')} as "timestamp", e.utm_source, {stamp}
        from arrival_events as e join arrival_active using (uid)
        where e.eid is not null and {pick('e.eid', 'repeat')} < 0.8""")
    insert("raw_orders", "new orders", f"""
        select {next_order} + row_number() over (order by o.oid, o.uid) as order_id, o.uid as user_id, o.amount,
               o.product_category, o.payment_method, {day} + {second_of_day('o.oid', 'order second')} as created_at,
               {stamp}
        from arrival_orders as o join arrival_active using (uid)
        where o.oid is not null and {pick('o.oid', 'repeat')} < 0.8""")
    # late rows: up to LATE_DAYS days old
    def late(key: str) -> str:
        return f"{day} - to_seconds(cast({pick(key, 'late second')} * {LATE_DAYS * 86400} as bigint))"

    insert("raw_events", "late events", f"""
        select {next_event} + row_number() over (order by eid, uid) as event_id, uid as user_id, event_type,
               {late('eid')} as "timestamp", utm_source, {stamp}
        from arrival_events where eid is not null and {pick('eid', 'late')} < {share / 10}""")
    insert("raw_orders", "late orders", f"""
        select {next_order} + row_number() over (order by oid, uid) as order_id, uid as user_id, amount,
               product_category, payment_method, {late('oid')} as created_at, {stamp}
        from arrival_orders where oid is not null and {pick('oid', 'late')} < {share / 10}""")
    # an event in a gap a little longer than the session timeout: two sessions become one
    timeout = SESSION_TIMEOUT_MINUTES * 60
    insert("raw_events", "bridging events", f"""
        select {next_event} + row_number() over (order by uid, ts) as event_id, uid as user_id,
               'pageview' as event_type, ts + to_seconds(cast(gap / 2 as bigint)) as "timestamp",
               null as utm_source, {stamp}
        from (select uid, ts, epoch(lead(ts) over (partition by uid order by ts, eid)) - epoch(ts) as gap
              from arrival_events
              where uid in (select uid from arrival_users where {pick('uid', 'bridge')} < {share * 2})
                and ts >= {day} - interval {LATE_DAYS} day and eid is not null)
        where gap > {timeout} and gap <= {2 * timeout}""")
    # late copies of existing ids, a minute earlier, under the next user id
    insert("raw_events", "earlier copies", f"""
        select eid as event_id, uid + 1 as user_id, event_type, ts - interval 1 minute as "timestamp", utm_source,
               {stamp}
        from arrival_events
        where eid is not null and uid is not null and ts is not null and {pick('eid', 'copy')} < {share / 20}""")
    insert("raw_orders", "earlier copies", f"""
        select oid as order_id, uid + 1 as user_id, amount, product_category, payment_method,
               ts - interval 1 minute as created_at, {stamp}
        from arrival_orders
        where oid is not null and uid is not null and ts is not null and {pick('oid', 'copy')} < {share / 20}""")
    # identical rows delivered again
    for table, key in (("raw_users", "user_id, email"), ("raw_events", 'event_id, user_id, "timestamp"'),
                       ("raw_orders", "order_id, user_id, created_at")):
        insert(table, "re-delivered rows", f"""
            select * exclude ({LOADED_AT}), {stamp} from {s}.{table}
            where {loaded} and {pick(key, 'again')} < {share / 20}""")
    # new users of the day (some with an existing email and an earlier signup), their events;
    # the late ones get the highest ids, so the next batch can tell them from every user before
    conn.execute(f"""create or replace temp table arrival_new_users as
        select {top_user} + row_number() over (order by late_user, uid) as uid, * exclude (uid)
        from (select uid, email as old_email, created as old_created, country, referrer,
                     {day} + {second_of_day('uid', 'signup second')} as created,
                     {pick('uid', 'same email')} < 0.3 and email is not null and created is not null as same_email,
                     {pick('uid', 'late user')} < 0.5 as late_user
              from arrival_users where uid is not null and {pick('uid', 'new user')} < {share / 10})""")
    insert("raw_users", "new users", f"""
        select uid as user_id,
               case when same_email then '  ' || upper(old_email) || ' ' else 'user' || uid || '@example.com' end
                   as email,
               'New User ' || uid as name, country, referrer,
               case when same_email then old_created - interval 1 day else created end as created_at, {stamp}
        from arrival_new_users where not late_user""")
    batch.kinds["duplicate emails"] = conn.execute(
        "select count(*) from arrival_new_users where same_email and not late_user").fetchone()[0]
    for offset, event_type in ((0, "signup"), (60, "pageview"), (120, "click")):
        insert("raw_events", "new users' events", f"""
            select {next_event} + row_number() over (order by uid) as event_id, uid as user_id,
                   '{event_type}' as event_type, created + interval {offset} second as "timestamp",
                   'organic' as utm_source, {stamp}
            from arrival_new_users where not same_email or late_user""")
    batch.kinds["users arriving next batch"] = conn.execute(
        "select count(*) from arrival_new_users where late_user").fetchone()[0]
    for name in ("arrival_users", "arrival_events", "arrival_orders"):
        conn.execute(f"drop view if exists {name}")
    for name in ("arrival_active", "arrival_new_users"):
        conn.execute(f"drop table if exists {name}")
