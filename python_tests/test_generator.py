"""Tests of the synthetic data generator (sbdk.generate).

Every property is checked on the tables actually written, with SQL or Python written here
(independently of the generator's code), never by reading numbers back from its result.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.compute as pc
import pytest

import sbdk._dirty as dirty_module
import sbdk._render as render_module
import sbdk.generate as gen
from sbdk._expected import expected_flags_for_file
from sbdk.contract import COLUMNS, FLAGS, TABLE_NAMES
from sbdk.generate import GenerateResult, build_emails, generate

TABLES = TABLE_NAMES
# The contract's flags per table, in order of precedence (pinned to the YAML by test_contract.py).
CONTRACT_FLAGS = {table: list(flags) for table, flags in FLAGS.items()}
TYPED = {
    "raw_users": {
        "user_id": "BIGINT", "email": "VARCHAR", "name": "VARCHAR", "country": "VARCHAR",
        "referrer": "VARCHAR", "created_at": "TIMESTAMP",
    },
    "raw_events": {
        "event_id": "BIGINT", "user_id": "BIGINT", "event_type": "VARCHAR",
        "timestamp": "TIMESTAMP", "utm_source": "VARCHAR",
    },
    "raw_orders": {
        "order_id": "BIGINT", "user_id": "BIGINT", "amount": "DECIMAL(12,2)",
        "product_category": "VARCHAR", "payment_method": "VARCHAR", "created_at": "TIMESTAMP",
    },
}

CLEAN_START = date(2024, 11, 15)
CLEAN_END = date(2025, 3, 31)


def _columns(db: Path, schema: str, table: str) -> dict[str, str]:
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    return dict(rows)


def _one(db: Path, sql: str):
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchone()[0]


def _all(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def _contents(db: Path, schema: str = "raw") -> dict[str, object]:
    """Every table's rows in stored order, as Arrow tables (exact values and types)."""
    with duckdb.connect(str(db), read_only=True) as conn:
        return {
            t: conn.sql(f'select * from "{schema}".{t} order by rowid').to_arrow_table()
            for t in TABLES
        }


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several chunks even for a few hundred users, so chunk boundaries are exercised."""
    monkeypatch.setattr(gen, "CHUNK_USERS", 500)


# --------------------------------------------------------------------------- clean data


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, GenerateResult]]:
    db = tmp_path_factory.mktemp("clean") / "clean.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gen, "CHUNK_USERS", 1000)
        result = generate(3000, db_path=db, seed=7, start=CLEAN_START, end=CLEAN_END)
    yield db, result


def test_clean_columns_are_typed(clean) -> None:
    db, _ = clean
    for table, cols in TYPED.items():
        assert _columns(db, "raw", table) == {**cols, "_loaded_at": "TIMESTAMP"}


def test_clean_row_counts_and_all_rows_valid(clean) -> None:
    db, result = clean
    counts = {t: _one(db, f"select count(*) from raw.{t}") for t in TABLES}
    assert counts["raw_users"] == 3000
    assert counts["raw_events"] > 10_000 and counts["raw_orders"] > 300
    assert result.row_counts == counts
    assert result.injected == {}
    assert not hasattr(result, "expected_flags")  # asked for, not computed by generate
    assert result.seconds > 0


def test_clean_keys_unique_and_nothing_blank(clean) -> None:
    db, _ = clean
    for table, key in (("raw_users", "user_id"), ("raw_events", "event_id"),
                       ("raw_orders", "order_id")):
        n, distinct, nulls = _all(
            db, f"select count(*), count(distinct {key}), count(*) - count({key}) from raw.{table}"
        )[0]
        assert distinct == n and nulls == 0, table
    assert _one(db, "select count(distinct lower(trim(email))) from raw.raw_users") == 3000
    assert _one(
        db,
        "select count(*) from raw.raw_users where email not similar to "
        "'[a-z]+\\.[a-z]+\\.[0-9a-z]+@[a-z0-9.-]+\\.[a-z]+'",
    ) == 0
    for table, cols in TYPED.items():
        for col, typ in cols.items():
            if col == "utm_source":
                continue  # may be null (direct traffic)
            cond = f"{col} is null" + (f" or trim({col}) = ''" if typ == "VARCHAR" else "")
            assert _one(db, f'select count(*) from raw.{table} where {cond}') == 0, (table, col)


def test_clean_times_inside_range_and_after_signup(clean) -> None:
    db, _ = clean
    lo = datetime.combine(CLEAN_START, datetime.min.time())
    hi = datetime.combine(CLEAN_END, datetime.max.time())  # 23:59:59.999999
    for table, col in (("raw_users", "created_at"), ("raw_events", "timestamp"),
                       ("raw_orders", "created_at")):
        first, last = _all(db, f'select min("{col}"), max("{col}") from raw.{table}')[0]
        assert lo <= first and last <= hi, (table, first, last)
    for table, col in (("raw_events", "timestamp"), ("raw_orders", "created_at")):
        bad = _one(
            db,
            f'select count(*) from raw.{table} f left join raw.raw_users u using (user_id) '
            f'where u.user_id is null or f."{col}" < u.created_at',
        )
        assert bad == 0, table
    # orders happen with a purchase event of the same user, at or before the order
    assert _one(
        db,
        "select count(*) from raw.raw_orders o where not exists (select 1 from raw.raw_events e "
        "where e.user_id = o.user_id and e.event_type = 'purchase' "
        "and e.timestamp <= o.created_at)",
    ) == 0
    assert _one(db, "select min(amount) from raw.raw_orders") >= 0.01


def test_clean_every_mapped_value_occurs(clean) -> None:
    db, _ = clean

    def values(table: str, col: str) -> set:
        return {r[0] for r in _all(db, f"select distinct {col} from raw.{table}")}

    types = values("raw_events", "event_type")
    assert {"pageview", "click", "login", "signup", "add_to_cart", "purchase"} <= types
    assert types - {"pageview", "click", "login", "signup", "add_to_cart", "purchase"}
    cats = values("raw_orders", "product_category")
    assert {"subscription", "addon", "renewal"} <= cats and len(cats) >= 5
    pays = values("raw_orders", "payment_method")
    assert {"credit_card", "paypal", "wire"} <= pays and len(pays) >= 4
    utm = values("raw_events", "utm_source")
    assert None in utm and len(utm - {None}) >= 3
    assert all(len(c) == 2 and c.isupper() for c in values("raw_users", "country"))


def test_clean_data_looks_like_product_analytics(clean) -> None:
    db, _ = clean
    per_user = [r[0] for r in _all(
        db,
        "select count(e.event_id) from raw.raw_users u left join raw.raw_events e "
        "using (user_id) group by u.user_id",
    )]
    assert 0.02 < sum(1 for n in per_user if n == 0) / len(per_user) < 0.2
    assert max(per_user) > 5 * np.mean(per_user)  # heavy tail
    # signup is every user's first event, at the signup time
    assert _one(
        db,
        "select count(*) from (select user_id, min(timestamp) t, arg_min(event_type, "
        "(timestamp, event_id)) first_type from raw.raw_events group by 1) f "
        "join raw.raw_users u using (user_id) where f.t <> u.created_at "
        "or f.first_type <> 'signup'",
    ) == 0
    buyers = _one(db, "select count(distinct user_id) from raw.raw_orders") / 3000
    assert 0.15 < buyers < 0.4
    # sessions: bursts seconds apart, gaps of hours, and gaps right at the 30-minute timeout
    gaps = _all(
        db,
        "select count(*) filter (where g <= interval 5 minute), "
        "count(*) filter (where g > interval 3 hour), "
        "count(*) filter (where g = interval 30 minute), "
        "count(*) filter (where g > interval 30 minute and g <= interval 31 minute) "
        "from (select timestamp - lag(timestamp) over (partition by user_id "
        "order by timestamp, event_id) as g from raw.raw_events) where g is not null",
    )[0]
    assert all(n > 0 for n in gaps), gaps
    # every product category has its own price level
    avg = dict(_all(db, "select product_category, avg(amount) from raw.raw_orders group by 1"))
    assert avg["consulting"] > avg["hardware"] > avg["addon"]


def test_clean_data_satisfies_the_contract_flag_rules(clean) -> None:
    """The flag calculator used for dirty data agrees that clean data is all valid."""
    db, _ = clean
    counts = {t: _one(db, f"select count(*) from raw.{t}") for t in TABLES}
    assert expected_flags_for_file(db, "raw", CLEAN_END) == {t: {"valid": n} for t, n in counts.items()}


# --------------------------------------------------------------------------- ties (clean)

#: Each event with its neighbours in the contract's order, (timestamp, event_id), per user.
_EVENT_NEIGHBOURS = """
with n as (
    select user_id, event_id, event_type, ts, r,
        lag(ts) over w as prev_ts, lead(ts) over w as next_ts,
        lag(event_type) over w as prev_type, lag(r) over w as prev_r,
        lag(event_id) over w as prev_id
    from (select *, "timestamp" as ts, rowid as r from raw.raw_events)
    window w as (partition by user_id order by ts, event_id)
),
s as (
    select *,
        prev_ts is null or ts - prev_ts > interval 30 minute as opens,
        next_ts is null or next_ts - ts > interval 30 minute as closes
    from n
)
"""


def test_clean_events_tie_on_timestamp(clean) -> None:
    """Some users have events at the very same instant: as the first and as the last event of
    a session, of different types, with event ids against the order the rows were written
    in, and with ids that sort the other way as text (only the contract's (timestamp,
    event_id as a number) order picks the first one)."""
    db, _ = clean
    tied_users, opening, closing, other_type, against_rows, against_text = _all(
        db,
        _EVENT_NEIGHBOURS + """
        select
            count(distinct user_id) filter (where ts = prev_ts),
            count(*) filter (where opens and ts = next_ts),
            count(*) filter (where closes and ts = prev_ts),
            count(*) filter (where ts = prev_ts and event_type <> prev_type),
            count(*) filter (where ts = prev_ts and r < prev_r),
            count(*) filter (where ts = prev_ts and cast(event_id as varchar) < cast(prev_id as varchar))
        from s
        """,
    )[0]
    assert tied_users >= 30  # of 3000 users
    assert opening >= 20 and closing >= 20, (opening, closing)
    assert other_type >= 50 and against_rows >= 10, (other_type, against_rows)
    assert against_text >= 2  # e.g. 99 and 100


def test_clean_orders_tie_on_time_count_and_revenue(clean) -> None:
    """Some users have orders at the very same instant, and orders whose product categories
    (payment methods) tie on count, some on revenue as well."""
    db, _ = clean
    same_instant = _one(
        db,
        "select count(distinct user_id) from (select user_id from raw.raw_orders "
        "group by user_id, created_at having count(*) > 1)",
    )
    assert same_instant >= 8
    for col in ("product_category", "payment_method"):
        on_count, on_revenue = _all(
            db,
            f"""
            with v as (
                select user_id, {col}, count(*) as n, sum(amount) as revenue
                from raw.raw_orders group by all
            ),
            top as (
                select *, max(revenue) over (partition by user_id) as top_revenue from (
                    select *, max(n) over (partition by user_id) as top_n from v
                ) where n = top_n
            )
            select count(*) filter (where k > 1), count(*) filter (where k_revenue > 1) from (
                select user_id, count(*) as k,
                    count(*) filter (where revenue = top_revenue) as k_revenue
                from top group by user_id
            )
            """,
        )[0]
        assert on_count >= 20 and on_revenue >= 8, (col, on_count, on_revenue)


# --------------------------------------------------------------------------- emails


def test_emails_unique_after_normalisation_at_one_million() -> None:
    n = 1_000_000
    ids = np.arange(1, n + 1, dtype=np.int64)
    zeros = np.zeros(n, dtype=np.int32)
    rng = np.random.default_rng(0)
    # worst case: everybody has the same first name, last name and domain
    for first, last, dom in (
        (zeros, zeros, zeros),
        (rng.integers(0, 50, n), rng.integers(0, 50, n), rng.integers(0, 3, n)),
    ):
        emails = build_emails(ids, first, last, dom)
        assert len(emails) == n
        normalised = pc.utf8_lower(pc.utf8_trim(emails, characters=" "))
        assert pc.count_distinct(normalised).as_py() == n
        assert pc.all(pc.equal(normalised, emails)).as_py()  # already normalised
        assert pc.all(pc.equal(pc.count_substring(emails, "@"), 1)).as_py()
        assert pc.sum(pc.is_null(emails)).as_py() == 0


def test_generate_uses_build_emails(tmp_path: Path, monkeypatch, small_chunks) -> None:
    produced: list[str] = []

    def spy(*args, **kwargs):
        out = build_emails(*args, **kwargs)
        produced.extend(out.to_pylist())
        return out

    monkeypatch.setattr(gen, "build_emails", spy)
    db = tmp_path / "spy.duckdb"
    generate(1200, db_path=db, seed=3)
    written = [r[0] for r in _all(db, "select email from raw.raw_users")]
    assert sorted(written) == sorted(produced) and len(set(written)) == 1200


# --------------------------------------------------------------------------- determinism


def test_same_arguments_give_identical_tables(tmp_path: Path, small_chunks) -> None:
    for dirty in (0.0, 0.1):
        a, b = tmp_path / f"a{dirty}.duckdb", tmp_path / f"b{dirty}.duckdb"
        generate(1300, db_path=a, seed=11, dirty=dirty)
        generate(1300, db_path=b, seed=11, dirty=dirty)
        ca, cb = _contents(a), _contents(b)
        for t in TABLES:
            assert ca[t].num_rows > 0
            assert ca[t].equals(cb[t]), (dirty, t)


def test_different_seeds_give_different_tables(tmp_path: Path) -> None:
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    generate(500, db_path=a, seed=1)
    generate(500, db_path=b, seed=2)
    ca, cb = _contents(a), _contents(b)
    for t in TABLES:
        assert not ca[t].equals(cb[t]), t


# --------------------------------------------------------------------------- dirty data


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, GenerateResult]]:
    db = tmp_path_factory.mktemp("dirty") / "dirty.duckdb"
    yield db, generate(2000, db_path=db, seed=5, dirty=0.1)


@pytest.fixture(scope="module")
def dirty_flags(dirty) -> dict[str, dict[str, int]]:
    """The flags the contract assigns to the dirty rows (as of the default end)."""
    db, _ = dirty
    return expected_flags_for_file(db, "raw", date(2025, 12, 31))


def test_dirty_columns_are_all_varchar(dirty) -> None:
    db, _ = dirty
    for table, cols in TYPED.items():
        assert _columns(db, "raw", table) == {**dict.fromkeys(cols, "VARCHAR"), "_loaded_at": "TIMESTAMP"}


def test_dirty_columns_in_the_contracts_order(dirty) -> None:
    db, _ = dirty
    for table in TABLES:
        assert tuple(_columns(db, "raw", table)) == (*COLUMNS[table], "_loaded_at")


def test_render_checks_its_columns_against_the_contract(monkeypatch) -> None:
    exprs = {t: dict(e) for t, e in render_module._EXPRESSIONS.items()}
    del exprs["raw_orders"]["amount"]
    monkeypatch.setattr(render_module, "_EXPRESSIONS", exprs)
    with pytest.raises(RuntimeError, match="raw_orders"):
        render_module._check_against_contract()


def test_dirty_every_flag_occurs_and_counts_add_up(dirty, dirty_flags) -> None:
    db, result = dirty
    for table in TABLES:
        n = _one(db, f"select count(*) from raw.{table}")
        assert result.row_counts[table] == n
        flags = dirty_flags[table]
        assert list(flags) == CONTRACT_FLAGS[table], table  # every flag, nothing else
        assert all(k > 0 for k in flags.values())
        assert sum(flags.values()) == n, table


def test_dirty_injected_cases_are_what_the_flags_show(dirty, dirty_flags) -> None:
    """Each injected case shows up as its flag, a case with two problems ('a+b', in the
    order of precedence) as the first of them; only events and orders add unknown_user rows
    of their own (cascaded from users who are not valid, and duplicates naming an unknown
    user that win the tie-break)."""
    _, result = dirty
    combos = {"raw_users": dirty_module.USER_COMBOS, "raw_events": dirty_module.EVENT_COMBOS,
              "raw_orders": dirty_module.ORDER_COMBOS}
    for table, cases in result.injected.items():
        flags = CONTRACT_FLAGS[table]
        assert {c for c in cases if "+" not in c} == set(flags) - {"valid"}
        assert {c for c in cases if "+" in c} == set(combos[table])  # every one occurs
        assert all(k > 0 for k in cases.values())
        by_flag: dict[str, int] = {}
        for case, k in cases.items():
            flag = case.split("+")[0]
            by_flag[flag] = by_flag.get(flag, 0) + k
        for flag, k in by_flag.items():
            got = dirty_flags[table][flag]
            if table != "raw_users" and flag == "unknown_user":
                assert got > k  # plus the cascade from the flagged users
            else:
                assert got == k, (table, flag)
    users = result.row_counts["raw_users"]
    assert 0.08 < sum(result.injected["raw_users"].values()) / users < 0.12


def test_dirty_missing_ids_counted_independently(dirty, dirty_flags) -> None:
    db, _ = dirty
    for table, key in (("raw_users", "user_id"), ("raw_events", "event_id"),
                       ("raw_orders", "order_id")):
        ids = [r[0] for r in _all(db, f"select {key} from raw.{table}")]

        def is_id(v: str | None) -> bool:
            s = (v or "").strip(" ")
            digits = s[1:] if s[:1] in "+-" and s[:1] else s
            return digits.isascii() and digits.isdigit() and -(2**63) <= int(s) < 2**63

        assert sum(not is_id(v) for v in ids) == dirty_flags[table]["missing_id"]


def test_dirty_flags_match_the_reference_implementation(dirty, dirty_flags) -> None:
    """The project's pure-Python contract (python_tests/reference) assigns the same flags."""
    from collections import Counter

    from harness import read_raw_rows
    from reference.contract import compute

    db, _ = dirty
    models = compute(read_raw_rows(db), date(2025, 12, 31))
    for table, stg in (("raw_users", "stg_users"), ("raw_events", "stg_events"),
                       ("raw_orders", "stg_orders")):
        got = Counter(r["data_quality_flag"] for r in models[stg])
        assert dict(got) == dirty_flags[table], table


def _printed_table(out: str, title: str) -> dict[tuple[str, str], int]:
    """The rows of the table printed under ``title`` by the CLI: (table, name) -> count."""
    lines = out.split(f"\n{title}\n", 1)[1].splitlines()[2:]  # after the header and the dashes
    rows = {}
    for line in lines:
        if not line.strip():
            break
        table, name, count = line.split()
        rows[(table, name)] = int(count.replace(",", ""))
    return rows


def test_cli_generate_dirty_prints_the_contracts_flags(tmp_path: Path, capsys, cli_in_process) -> None:
    """``sbdk generate --dirty`` prints the flags the contract assigns to the rows written
    (here checked against the pure-Python reference implementation), a clean run none."""
    from collections import Counter

    from harness import read_raw_rows
    from reference.contract import compute

    main = cli_in_process
    db = tmp_path / "cli.duckdb"
    end = date(2025, 6, 30)
    assert main(["generate", "--users", "600", "--seed", "9", "--dirty", "0.2", "--end", end.isoformat(),
                 "--db", str(db), "--no-progress"]) == 0
    printed = _printed_table(capsys.readouterr().out, "expected flags:")
    models = compute(read_raw_rows(db), end)
    reference = {(t, flag): n for t, stg in (("raw_users", "stg_users"), ("raw_events", "stg_events"),
                                             ("raw_orders", "stg_orders"))
                 for flag, n in Counter(r["data_quality_flag"] for r in models[stg]).items()}
    assert printed == reference
    assert main(["generate", "--users", "50", "--db", str(tmp_path / "clean.duckdb"), "--no-progress"]) == 0
    assert "expected flags" not in capsys.readouterr().out


def test_dirty_valid_values_come_in_varied_formats(dirty) -> None:
    db, _ = dirty
    ts = [r[0] for r in _all(db, "select timestamp from raw.raw_events")
          if r[0] is not None]
    assert any("T" in v for v in ts)
    assert any(v.endswith("Z") for v in ts)
    assert any(v[-6:-5] in "+-" and v[-3:-2] == ":" and len(v) > 16 for v in ts)
    assert any(len(v) == 10 for v in
               [r[0] for r in _all(db, "select created_at from raw.raw_users where created_at "
                                       "is not null")])
    ids = [r[0] for r in _all(db, "select user_id from raw.raw_events where user_id is not null")]
    assert any(v != v.strip() for v in ids) and any(v.startswith("+") for v in ids)
    amounts = [r[0] for r in _all(db, "select amount from raw.raw_orders where amount is not null")]
    assert any("e" in v.lower() and v.strip().lower() not in ("inf", "-inf") for v in amounts)
    # duplicate emails that differ only in case and surrounding spaces
    assert _one(
        db,
        "select count(*) from raw.raw_users a join raw.raw_users b "
        "on lower(trim(a.email)) = lower(trim(b.email)) and a.email <> b.email "
        "and a.email <> trim(a.email) and a.email <> lower(a.email)",
    ) > 0


# --------------------------------------------------------------------------- dirty: two
# problems at once, ties

#: The day after the dirty fixture's last day (2025-12-31): on or after it is the future.
_FUTURE = "timestamp '2026-01-01'"


@pytest.fixture(scope="module")
def dirty_parsed(dirty) -> Iterator[duckdb.DuckDBPyConnection]:
    """The dirty tables read the contract's way by the reference implementation's parsers
    (python_tests/reference, not the generator's code): tables u, e, o of an in-memory DuckDB,
    typed and normalised, r = the row's position in the raw table, h = md5 of the email."""
    import pyarrow as pa

    from reference.contract import clean_text, parse_amount, parse_id, parse_timestamp

    db, _ = dirty

    def lower(v):
        t = clean_text(v)
        return None if t is None else t.lower()

    def upper(v):
        t = clean_text(v)
        return None if t is None else t.upper()

    def lower_or_unknown(v):
        return lower(v) or "unknown"

    specs = {
        "u": ("raw_users", {"id": ("user_id", parse_id), "email": ("email", lower),
                            "country": ("country", upper), "referrer": ("referrer", lower),
                            "ts": ("created_at", parse_timestamp)}),
        "e": ("raw_events", {"id": ("event_id", parse_id), "uid": ("user_id", parse_id),
                             "etype": ("event_type", lower_or_unknown),
                             "ts": ("timestamp", parse_timestamp), "utm": ("utm_source", lower)}),
        "o": ("raw_orders", {"id": ("order_id", parse_id), "uid": ("user_id", parse_id),
                             "amount": ("amount", parse_amount),
                             "cat": ("product_category", lower_or_unknown),
                             "pay": ("payment_method", lower_or_unknown),
                             "ts": ("created_at", parse_timestamp)}),
    }
    conn = duckdb.connect()
    for name, (table, cols) in specs.items():
        listed = ", ".join(f'"{raw}"' for raw, _ in cols.values())
        rows = _all(db, f"select {listed} from raw.{table} order by rowid")
        data = {"r": list(range(len(rows)))}
        for i, (out, (_, parse)) in enumerate(cols.items()):
            data[out] = [parse(row[i]) for row in rows]
        conn.register("parsed", pa.table(data))
        hashed = ", md5(email) as h" if name == "u" else ""  # email_hash
        conn.execute(f"create table {name} as select *{hashed} from parsed")
        conn.unregister("parsed")
    yield conn
    conn.close()


def test_dirty_rows_with_two_problems(dirty_parsed) -> None:
    """Rows where two rules of the contract's precedence apply at once are in the data."""
    known = "(select id from u where id is not null)"
    invalid = "(amount is null or amount < 0.01)"
    checks = {
        "user: missing id and created_at": "select count(*) from u where id is null and ts is null",
        "user: a copy in the future": (
            f"select count(*) from u a join u b using (id) where a.ts < {_FUTURE} "
            f"and b.ts >= {_FUTURE}"
        ),
        "user: a copy without created_at": (
            "select count(*) from u a join u b using (id) where a.ts is not null and b.ts is null"
        ),
        "user: a later copy with the email of a user who signed up later still": (
            "select count(*) from u a join u b using (id) join u c "
            "on c.email = b.email and c.id <> b.id where a.ts < b.ts and b.ts < c.ts"
        ),
    }
    for t in ("e", "o"):
        checks |= {
            f"{t}: missing id and user id": f"select count(*) from {t} where id is null and uid is null",
            f"{t}: missing user id and timestamp": (
                f"select count(*) from {t} where id is not null and uid is null and ts is null"
            ),
            f"{t}: unknown user in the future": (
                f"select count(*) from {t} where id is not null and uid not in {known} "
                f"and ts >= {_FUTURE}"
            ),
            f"{t}: a later copy naming an unknown user": (
                f"select count(*) from {t} a join {t} b using (id) "
                f"where a.uid in {known} and b.uid not in {known} and a.ts < b.ts"
            ),
            f"{t}: a later copy in the future": (
                f"select count(*) from {t} a join {t} b using (id) where a.uid = b.uid "
                f"and a.ts < {_FUTURE} and b.ts >= {_FUTURE}"
            ),
            f"{t}: an earlier copy without a user id": (
                f"select count(*) from {t} a join {t} b using (id) "
                f"where a.uid is not null and b.uid is null and b.ts < a.ts"
            ),
            f"{t}: a copy without a timestamp": (
                f"select count(*) from {t} a join {t} b using (id) where a.uid is not null "
                f"and a.ts is not null and b.uid is not null and b.ts is null"
            ),
        }
    checks |= {
        "o: missing timestamp and an invalid amount": (
            f"select count(*) from o where id is not null and uid is not null and ts is null "
            f"and {invalid}"
        ),
        "o: an earlier copy with an invalid amount": (
            "select count(*) from o a join o b using (id) where a.uid is not null "
            "and b.uid is not null and b.ts < a.ts and a.amount >= 0.01 "
            "and (b.amount is null or b.amount < 0.01)"
        ),
    }
    missing = [what for what, sql in checks.items() if dirty_parsed.execute(sql).fetchone()[0] < 1]
    assert not missing, missing


#: Per table: the columns that break ties among duplicates (the contract's rule, in the package
#: overview `models/overview.md`), in order, and the rows no earlier rule than duplicate_id flags.
_TIE_BREAK = {
    "u": (["h nulls last", "country nulls last", "referrer nulls last"],
          "id is not null and ts is not null and ts < " + _FUTURE),
    "e": (["uid", "etype", "utm nulls last"], "id is not null and uid is not null and ts is not null"),
    "o": (["uid", "amount nulls last", "cat", "pay"],
          "id is not null and uid is not null and ts is not null and amount >= 0.01"),
}


def test_dirty_duplicates_tie_on_timestamp(dirty_parsed) -> None:
    """Duplicates (same id, same instant) that differ in each tie-break column, and in some
    of them the row written later is the one the tie-break keeps."""
    for t, (order, eligible) in _TIE_BREAK.items():
        columns = [o.split()[0] for o in order]
        for col in columns:
            n = dirty_parsed.execute(
                f"select count(*) from (select * from {t} where {eligible}) a "
                f"join (select * from {t} where {eligible}) b "
                f"on a.id = b.id and a.r < b.r and a.ts = b.ts where a.{col} is distinct from b.{col}"
            ).fetchone()[0]
            assert n >= 1, (t, col)
        differs = " or ".join(f"k.{c} is distinct from other.{c}" for c in columns)
        later_kept = dirty_parsed.execute(
            f"""
            with k as (
                select *, row_number() over (partition by id order by ts, {", ".join(order)}) as rk
                from {t} where {eligible}
            )
            select count(*) from k join k as other
                on other.id = k.id and other.ts = k.ts and other.r < k.r and ({differs})
            where k.rk = 1
            """
        ).fetchone()[0]
        assert later_kept >= 1, t
    # duplicate emails of users who signed up at the very same instant (the smaller id wins)
    assert dirty_parsed.execute(
        "select count(*) from u a join u b on a.email = b.email and a.id < b.id and a.ts = b.ts"
    ).fetchone()[0] >= 1
    # and a user's own events at the very same instant, as in clean data
    assert dirty_parsed.execute(
        "select count(distinct uid) from (select uid from e where uid is not null "
        "and ts is not null group by uid, ts having count(*) > 1)"
    ).fetchone()[0] >= 10


def test_dirty_zero_rate_is_clean_mode(tmp_path: Path) -> None:
    r = generate(50, db_path=tmp_path / "z.duckdb", dirty=0)
    assert r.injected == {} and _columns(tmp_path / "z.duckdb", "raw", "raw_users")[
        "user_id"] == "BIGINT"


# --------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("dirty_rate", [0.0, 0.2])
def test_zero_users_gives_empty_tables(tmp_path: Path, dirty_rate: float) -> None:
    db = tmp_path / "empty.duckdb"
    result = generate(0, db_path=db, dirty=dirty_rate)
    assert result.row_counts == dict.fromkeys(TABLES, 0)
    assert expected_flags_for_file(db, "raw", date(2025, 12, 31)) == {t: {} for t in TABLES}
    for t in TABLES:
        assert _one(db, f"select count(*) from raw.{t}") == 0
        assert set(_columns(db, "raw", t)) == {*TYPED[t], "_loaded_at"}


def test_schema_is_created_and_rerun_replaces_tables(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "dir" / "x.duckdb"
    generate(300, db_path=db, schema="landing zone", seed=1)
    generate(200, db_path=db, schema="landing zone", seed=2, dirty=0.1)
    n = _one(db, 'select count(*) from "landing zone".raw_users')
    assert 200 <= n < 300  # replaced, not appended (dirty adds a few duplicate rows)
    assert _columns(db, "landing zone", "raw_users")["user_id"] == "VARCHAR"
    tables = _all(db, "select table_name from information_schema.tables order by 1")
    assert tables == [(t,) for t in sorted(TABLES)]


def test_failed_run_leaves_previous_tables(tmp_path: Path, monkeypatch, small_chunks) -> None:
    db = tmp_path / "keep.duckdb"
    generate(300, db_path=db, seed=1)
    before = _contents(db)
    real = gen.make_chunk
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(gen, "make_chunk", failing)
    with pytest.raises(RuntimeError, match="boom"):
        generate(2000, db_path=db, seed=2)
    after = _contents(db)
    assert all(before[t].equals(after[t]) for t in TABLES)
    assert _all(db, "select table_name from information_schema.tables order by 1") == [
        (t,) for t in sorted(TABLES)
    ]


def test_progress_bar(tmp_path: Path, capsys, small_chunks) -> None:
    generate(1100, db_path=tmp_path / "p.duckdb", progress=True)
    assert "3/3" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"users": -1}, "users"),
        ({"users": 50_000_001}, "users"),
        ({"users": 2.5}, "users"),
        ({"users": True}, "users"),
        ({"users": 10, "start": date(2025, 6, 2), "end": date(2025, 6, 1)}, "start"),
        ({"users": 10, "dirty": -0.01}, "dirty"),
        ({"users": 10, "dirty": 0.51}, "dirty"),
        ({"users": 10, "dirty": math.nan}, "dirty"),
        ({"users": 10, "seed": -3}, "seed"),
        ({"users": 10, "start": datetime(2025, 1, 1)}, "start"),
        ({"users": 10, "schema": " "}, "schema"),
    ],
)
def test_bad_arguments_raise_value_error(tmp_path: Path, kwargs: dict, words: str) -> None:
    db = tmp_path / "never.duckdb"
    users = kwargs.pop("users")
    with pytest.raises(ValueError) as info:
        generate(users, db_path=db, **kwargs)
    message = str(info.value)
    assert words in message and "\n" not in message and message.endswith(".")
    assert not db.exists()


def test_one_day_range(tmp_path: Path) -> None:
    day = date(2024, 2, 29)
    db = tmp_path / "day.duckdb"
    generate(400, db_path=db, start=day, end=day, seed=4)
    lo = datetime(2024, 2, 29)
    hi = lo + timedelta(days=1)
    for table, col in (("raw_users", "created_at"), ("raw_events", "timestamp"),
                       ("raw_orders", "created_at")):
        first, last = _all(db, f'select min("{col}"), max("{col}") from raw.{table}')[0]
        assert lo <= first and last < hi


def test_dirty_module_cases_cover_the_spec() -> None:
    for table, combos in (("raw_users", dirty_module.USER_COMBOS),
                          ("raw_events", dirty_module.EVENT_COMBOS),
                          ("raw_orders", dirty_module.ORDER_COMBOS)):
        flags = CONTRACT_FLAGS[table]
        for combo in combos:
            first, second = combo.split("+")
            assert flags.index(first) < flags.index(second) < flags.index("valid"), combo


@pytest.fixture
def contract_with_value_flags() -> Iterator[dict[str, tuple[str, str, tuple[str, ...]]]]:
    """The contract with one more flag on users and on events, each declared only by the bad
    values of one column (``ValueCase``): what a new value-level flag adds to the contract.
    The generator's modules are reloaded to see it, and again afterwards."""
    import dataclasses
    import importlib

    import sbdk.contract as contract

    new = {"raw_users": ("invalid_email", "email", ("no at sign", "two@@ats")),
           "raw_events": ("invalid_utm_source", "utm_source", ("%%", "utm?source"))}
    tables = dict(contract.RAW_TABLES)
    for name, (flag, column, texts) in new.items():
        t = tables[name]
        tables[name] = dataclasses.replace(t, flags=(*t.problems, flag, contract.VALID),
                                           value_cases=(contract.ValueCase(flag, column, texts),))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(contract, "RAW_TABLES", tables)
        mp.setattr(contract, "USERS", tables["raw_users"])
        mp.setattr(contract, "EVENTS", tables["raw_events"])
        importlib.reload(render_module)
        importlib.reload(dirty_module)
        try:
            yield new
        finally:
            mp.undo()
            importlib.reload(render_module)
            importlib.reload(dirty_module)


def test_a_flag_declared_by_bad_values_needs_no_injector(tmp_path: Path, contract_with_value_flags) -> None:
    """A flag the contract declares by the bad values of a column is injected with no code of
    its own: its rows carry those texts, as many as reported, and no other row does."""
    db = tmp_path / "value_flags.duckdb"
    result = generate(800, db_path=db, seed=5, dirty=0.3)
    for table, (flag, column, texts) in contract_with_value_flags.items():
        injected = result.injected[table][flag]
        assert injected > 0, (table, flag)
        written = _all(db, f'select "{column}" from raw.{table}')
        assert sum(v in texts for (v,) in written) == injected, (table, flag)
        assert {v for (v,) in written if v in texts} == set(texts), (table, flag)  # every text used


def test_a_value_case_must_name_a_flag_and_a_column_of_its_table() -> None:
    from sbdk.contract import USERS, ValueCase

    for case in (ValueCase("no_such_flag", "email", ("x",)), ValueCase("missing_id", "no_such_column", ("x",)),
                 ValueCase("missing_id", "email", ())):
        with pytest.raises(ValueError, match="raw_users: value case"):
            type(USERS)(USERS.name, USERS.staging_model, USERS.columns, USERS.flags, (case,))


def test_locked_file_raises_and_writes_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "locked.duckdb"
    generate(100, db_path=db, seed=1)
    before = _contents(db)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
         "time.sleep(60)", str(db)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(duckdb.IOException):
            generate(500, db_path=db, seed=2)
    finally:
        holder.kill()
        holder.wait()
    after = _contents(db)
    assert all(before[t].equals(after[t]) for t in TABLES)


def test_interrupt_inside_duckdb_is_a_keyboard_interrupt(tmp_path: Path, monkeypatch,
                                                         small_chunks) -> None:
    """Ctrl-C during a DuckDB query surfaces as a DuckDB error; generate re-raises it as
    KeyboardInterrupt after dropping its temporary tables."""
    db = tmp_path / "intr.duckdb"
    generate(200, db_path=db, seed=1)
    before = _contents(db)
    real = gen._insert
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("Query interrupted")
        return real(*args, **kwargs)

    monkeypatch.setattr(gen, "_insert", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate(1500, db_path=db, seed=2)
    after = _contents(db)
    assert all(before[t].equals(after[t]) for t in TABLES)
    assert len(_all(db, "select table_name from information_schema.tables")) == 3


def test_ctrl_c_while_counting_the_expected_flags(tmp_path: Path, capsys, cli_in_process, monkeypatch) -> None:
    """The expected flags are counted once the new raw tables are in place: a Ctrl-C then says
    that the file holds them (not "the previous result"), exit 130."""
    import sbdk._expected

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sbdk._expected, "expected_flags_for_file", interrupted)
    db = tmp_path / "ctrl_c.duckdb"
    assert cli_in_process(["generate", "--users", "50", "--dirty", "0.2", "--db", str(db), "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"sbdk: interrupted; {db} holds the new raw tables; their expected flags were not counted"]
    assert _one(db, "select count(*) from raw.raw_users") >= 50


# ---------------------------------------------------------------- arrival batches (sbdk.arrivals)


@pytest.mark.parametrize("dirty", [0.0, 0.2], ids=["clean", "dirty"])
def test_arrival_batches_bring_every_kind_of_late_row(tmp_path, dirty: float) -> None:
    """`generate` stamps its rows with the initial load time; each `append_arrivals` adds the
    next day's rows, stamped the morning after, with every kind of late row the incremental
    builds must handle, checked on the rows themselves."""
    from sbdk.arrivals import append_arrivals, initial_load_time

    db = tmp_path / "arrivals.duckdb"
    end = date(2025, 6, 30)
    generate(400, db_path=db, seed=5, end=end, dirty=dirty)
    batches = [append_arrivals(db, seed=5, share=0.3) for _ in range(3)]
    assert [b.day for b in batches] == [end + timedelta(days=i) for i in (1, 2, 3)]
    assert [b.loaded_at for b in batches] == [initial_load_time(end + timedelta(days=i)) for i in (1, 2, 3)]
    conn = duckdb.connect(str(db), read_only=True)
    sql = lambda q: conn.execute(q).fetchall()  # noqa: E731
    stamps = [initial_load_time(end), *(b.loaded_at for b in batches)]
    for table in TABLES:
        counts = dict(sql(f"select _loaded_at, count(*) from raw.{table} group by 1"))
        assert sorted(counts) == stamps, (table, counts)
        assert [counts[b.loaded_at] for b in batches] == [b.rows[table] for b in batches]
    for b in batches:
        assert sum(b.kinds.values()) - b.kinds["duplicate emails"] - b.kinds["users arriving next batch"] \
            == b.total_rows, b.kinds
    kinds = {k for b in batches for k, n in b.kinds.items() if n}
    assert kinds >= {"new events", "new orders", "late events", "late orders", "bridging events", "earlier copies",
                     "re-delivered rows", "new users", "duplicate emails", "late users"}, kinds
    ev = "try_cast(event_id as bigint)"
    ts = 'try_cast("timestamp" as timestamp)'
    last = f"timestamp '{batches[-1].loaded_at}'"
    # a late copy of an event id, earlier, under another user
    assert sql(f"""select count(*) from raw.raw_events as a join raw.raw_events as b on {ev.replace('event_id',
        'a.event_id')} = {ev.replace('event_id', 'b.event_id')}
        where b._loaded_at = {last} and a._loaded_at < {last}
          and try_cast(b.user_id as bigint) = try_cast(a.user_id as bigint) + 1
          and {ts.replace('"timestamp"', 'b."timestamp"')} = {ts.replace('"timestamp"', 'a."timestamp"')}
              - interval 1 minute""")[0][0] > 0
    # an identical row delivered again
    assert sql(f"""select count(*) from (select * exclude (_loaded_at) from raw.raw_events where _loaded_at = {last}
                   intersect select * exclude (_loaded_at) from raw.raw_events where _loaded_at < {last})""")[0][0] > 0
    # late rows, up to 30 days before the batch's day
    old = sql(f"""select min({ts}) from raw.raw_events where _loaded_at = {last} and {ev} not in
                  (select {ev} from raw.raw_events where _loaded_at < {last} and {ev} is not null)""")[0][0]
    assert batches[-1].day - timedelta(days=30) <= old.date() < batches[-1].day
    # the late users of a batch: events then, no users row until the next batch
    late = sql("""select u.user_id, min(e._loaded_at), min(u._loaded_at) from raw.raw_users as u
                   join raw.raw_events as e on try_cast(e.user_id as bigint) = try_cast(u.user_id as bigint)
                   where u.name like 'Late User %' group by 1""")
    assert late and all(events_at < user_at for _, events_at, user_at in late), late
    # a duplicate email arriving with an earlier created_at
    assert sql("""select count(*) from raw.raw_users as new join raw.raw_users as old
                  on lower(trim(new.email)) = lower(trim(old.email)) and new.user_id <> old.user_id
                  where new._loaded_at > old._loaded_at
                    and try_cast(new.created_at as timestamp) < try_cast(old.created_at as timestamp)""")[0][0] > 0
    conn.close()
    # the same tables and seed give the same batch
    again = tmp_path / "again.duckdb"
    generate(400, db_path=again, seed=5, end=end, dirty=dirty)
    assert [append_arrivals(again, seed=5, share=0.3).rows for _ in range(3)] == [b.rows for b in batches]


def test_appending_needs_stamped_raw_tables(tmp_path) -> None:
    from sbdk.arrivals import NoArrivalBase, append_arrivals

    db = tmp_path / "old.duckdb"
    generate(20, db_path=db, seed=1)
    with duckdb.connect(str(db)) as conn:
        conn.execute("alter table raw.raw_orders drop column _loaded_at")
    with pytest.raises(NoArrivalBase, match="raw.raw_orders has no _loaded_at column"):
        append_arrivals(db)
