"""Dirty mode: inject the SPEC's data-quality cases into a clean chunk and render every column
as text.

Each injected case is placed so that cases do not interact: events and orders get cases only
when their user is untouched, duplicate copies are copies of untouched rows with a later (or
the very same) timestamp, and a ``duplicate_email`` row always points at an untouched user that
signed up no later and has a smaller id. Events and orders of a user that ends up not ``valid``
become ``unknown_user`` (a cascade); ``expected_flags`` counts them by applying the contract to
the written rows (see ``_expected``), ``injected`` reports the cases before cascades.

Valid values are written in varied formats (``T`` separator, ``Z`` or ``±HH:MM`` offsets that
are applied to give UTC, ids with spaces, ``+`` or leading zeros, amounts like ``4990e-2``,
upper-case or padded text, blank event types ...), all of which stay valid.

Text is rendered in DuckDB SQL from typed truth columns plus small integer format codes, so
nothing here loops over rows in Python.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sbdk import _pools as P
from sbdk._chunk import DAY, MINUTE, MS, SECOND, Chunk, build_emails, build_names

USER_CASES = (
    "missing_id", "missing_created_at", "future_timestamp", "duplicate_id", "duplicate_email",
)
EVENT_CASES = (
    "missing_id", "missing_user_id", "missing_timestamp", "duplicate_id", "unknown_user",
    "future_timestamp", "before_signup",
)
ORDER_CASES = (
    "missing_id", "missing_user_id", "missing_timestamp", "invalid_amount", "duplicate_id",
    "unknown_user", "future_timestamp", "before_signup",
)

#: Texts that are not ids under the contract (trim, optional sign, digits, 64-bit).
ID_GARBAGE = (
    None, "", "   ", "abc", "17.5", "1e2", "12 34", "0x1F", "9223372036854775808", "#42", "-",
)
#: Texts that are not timestamps under the contract.
TS_GARBAGE = (
    None, "", "not a date", "2024-13-45", "2025-02-30", "2025-06-01 24:00:00", "06/01/2025",
    "1735689600", "yesterday", "2025-06-01 12:00:00.1234567",
)
#: Amounts that are ``invalid_amount``: null, not a number, NaN/inf, rounding below 0.01,
#: or too large for decimal(18,2).
AMOUNT_GARBAGE = (
    None, "", "   ", "abc", "NaN", "nan", "inf", "-inf", "Infinity", "0", "0.00", "-5",
    "-0.01", "0.004", "1e17", "12,50", "$12.50",
)
#: Odd but valid amounts (rounded half away from zero to cents: all >= 0.01).
AMOUNT_ODD_VALID = ("0.005", "0.0051", "1.5e2", "1.5E2", "150.", ".99", "+12.50")
_AMOUNT_RAW = AMOUNT_GARBAGE + AMOUNT_ODD_VALID

#: UTC offsets (minutes) used to write valid timestamps in local time.
OFFSETS = (-600, -480, -420, -300, -240, -180, -60, 0, 60, 120, 180, 330, 345, 480, 540, 600)

# format-code weights ------------------------------------------------------------------
# ids: 0 plain, 1 ' 42  ', 2 '+42', 3 '0042'
_ID_W = (0.88, 0.05, 0.04, 0.03)
# timestamps: 0 'YYYY-MM-DD HH:MM:SS[.ffffff]', 1 'T' + trimmed fraction, 2 'T' + 'Z',
# 3 local time + '±HH:MM', 4 date only (when midnight), 5 'HH:MM' (when whole minute),
# 6 always six fraction digits
_TS_W = (0.55, 0.12, 0.08, 0.12, 0.05, 0.04, 0.04)
# text: 0 as is, 1 upper, 2 lower, 3 padded, 4 capitalised, 5 '', 6 '   ', 7 NULL,
# 8 (emails) capitalised local part, upper-case domain, padded
_EMAIL_W = (0.92, 0.02, 0.0, 0.02, 0.0, 0.007, 0.006, 0.007, 0.02)
_COUNTRY_W = (0.86, 0.0, 0.04, 0.04, 0.02, 0.02, 0.0, 0.02)
_REFERRER_W = (0.86, 0.03, 0.0, 0.03, 0.02, 0.02, 0.02, 0.02)
_TYPE_W = (0.93, 0.02, 0.0, 0.02, 0.02, 0.005, 0.0, 0.005)
_UTM_W = (0.90, 0.03, 0.0, 0.03, 0.02, 0.02, 0.0, 0.0)
_CAT_W = (0.92, 0.02, 0.0, 0.03, 0.02, 0.005, 0.0, 0.005)
# amounts: 0 '49.90', 1 '49.9', 2 ' 49.90  ', 3 '4990e-2', 4 '4.990000e+01',
# 5 '49.904', 6 '49.905'
_AMOUNT_W = (0.60, 0.12, 0.07, 0.07, 0.07, 0.035, 0.035)


def _cdf(w) -> np.ndarray:
    c = np.cumsum(np.asarray(w, dtype=np.float64))
    return c / c[-1]


def _codes(rng: np.random.Generator, w, n: int) -> np.ndarray:
    cdf = _cdf(w)
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1).astype(
        np.int8
    )


def _allocate(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Split n injected rows as evenly as possible over k cases (remainder at random)."""
    out = np.full(k, n // k, dtype=np.int64)
    out[rng.permutation(k)[: n % k]] += 1
    return out


def _raw_codes(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    return rng.integers(lo, hi, n).astype(np.int8)


# --------------------------------------------------------------------------- SQL rendering


def _lit(values) -> str:
    items = ["NULL" if v is None else "'" + v.replace("'", "''") + "'" for v in values]
    return "[" + ", ".join(items) + "]::VARCHAR[]"


def _sql_id(col: str, raw: tuple) -> str:
    v, f, r = col, f"{col}_fmt", f"{col}_raw"
    s = f"cast({v} as varchar)"
    return (
        f"case when {r} >= 0 then ({_lit(raw)})[{r} + 1] "
        f"when {f} = 1 then ' ' || {s} || '  ' "
        f"when {f} = 2 and {v} >= 0 then '+' || {s} "
        f"when {f} = 3 and {v} >= 0 then '00' || {s} "
        f"else {s} end"
    )


def _sql_ts(col: str, raw: tuple) -> str:
    v, f, o, r = col, f"{col}_fmt", f"{col}_off", f"{col}_raw"
    frac_us = f"(epoch_us({v}) - epoch_us(date_trunc('second', {v})))"
    frac6 = f"lpad(cast({frac_us} as varchar), 6, '0')"
    frac = f"(case when {frac_us} = 0 then '' else '.' || {frac6} end)"
    frac_trim = f"(case when {frac_us} = 0 then '' else '.' || rtrim({frac6}, '0') end)"
    off_txt = (
        f"((case when {o} < 0 then '-' else '+' end) || lpad(cast(abs({o}) // 60 as varchar), 2,"
        f" '0') || ':' || lpad(cast(abs({o}) % 60 as varchar), 2, '0'))"
    )
    return (
        f"case when {r} >= 0 then ({_lit(raw)})[{r} + 1] "
        f"when {f} = 1 then strftime({v}, '%Y-%m-%dT%H:%M:%S') || {frac_trim} "
        f"when {f} = 2 then strftime({v}, '%Y-%m-%dT%H:%M:%S') || {frac} || 'Z' "
        f"when {f} = 3 then strftime({v} + to_minutes({o}), '%Y-%m-%d %H:%M:%S') || {frac} "
        f"|| {off_txt} "
        f"when {f} = 4 and date_trunc('day', {v}) = {v} then strftime({v}, '%Y-%m-%d') "
        f"when {f} = 5 and date_trunc('minute', {v}) = {v} then strftime({v}, '%Y-%m-%d %H:%M') "
        f"when {f} = 6 then strftime({v}, '%Y-%m-%d %H:%M:%S') || '.' || {frac6} "
        f"else strftime({v}, '%Y-%m-%d %H:%M:%S') || {frac} end"
    )


def _sql_text(col: str) -> str:
    v, f = col, f"{col}_fmt"
    return (
        f"case {f} when 1 then upper({v}) when 2 then lower({v}) "
        f"when 3 then '  ' || {v} || ' ' "
        f"when 4 then upper(left({v}, 1)) || substr({v}, 2) "
        f"when 5 then '' when 6 then '   ' when 7 then NULL "
        f"when 8 then '  ' || upper(left({v}, 1)) || substr({v}, 2, instr({v}, '@') - 1) "
        f"|| upper(substr({v}, instr({v}, '@') + 1)) || ' ' "
        f"else {v} end"
    )


def _sql_amount(col: str, raw: tuple) -> str:
    c, f, r = col, f"{col}_fmt", f"{col}_raw"
    whole = f"cast({c} // 100 as varchar)"
    base = f"({whole} || '.' || lpad(cast({c} % 100 as varchar), 2, '0'))"
    return (
        f"case when {r} >= 0 then ({_lit(raw)})[{r} + 1] "
        f"when {f} = 1 and {c} % 100 = 0 then {whole} "
        f"when {f} = 1 and {c} % 10 = 0 then {whole} || '.' || cast(({c} % 100) // 10 as varchar) "
        f"when {f} = 2 then ' ' || {base} || '  ' "
        f"when {f} = 3 then cast({c} as varchar) || 'e-2' "
        f"when {f} = 4 and {c} < 10000000 then printf('%.6e', cast({c} as double) / 100) "
        f"when {f} = 5 then {base} || '4' "
        f"when {f} = 6 then {base} || '5' "
        f"else {base} end"
    )


_RENDER = {
    "raw_users": (
        ("user_id", _sql_id("uid", ID_GARBAGE)),
        ("email", _sql_text("email")),
        ("name", "name"),
        ("country", _sql_text("country")),
        ("referrer", _sql_text("referrer")),
        ("created_at", _sql_ts("ts", TS_GARBAGE)),
    ),
    "raw_events": (
        ("event_id", _sql_id("eid", ID_GARBAGE)),
        ("user_id", _sql_id("uid", ID_GARBAGE)),
        ("event_type", _sql_text("etype")),
        ("timestamp", _sql_ts("ts", TS_GARBAGE)),
        ("utm_source", _sql_text("utm")),
    ),
    "raw_orders": (
        ("order_id", _sql_id("oid", ID_GARBAGE)),
        ("user_id", _sql_id("uid", ID_GARBAGE)),
        ("amount", _sql_amount("cents", _AMOUNT_RAW)),
        ("product_category", _sql_text("cat")),
        ("payment_method", _sql_text("pay")),
        ("created_at", _sql_ts("ts", TS_GARBAGE)),
    ),
}


def render_select(table: str) -> str:
    """``SELECT <text columns> FROM {src}`` turning a truth table of ``dirty_tables`` into
    the VARCHAR raw table."""
    cols = ", ".join(f'({expr}) AS "{name}"' for name, expr in _RENDER[table])
    return f"SELECT {cols} FROM {{src}}"


# --------------------------------------------------------------------------- injection


def _future(rng: np.random.Generator, n: int, end_excl_us: int):
    """Timestamps on or after the day after ``as_of_date`` (UTC) with their format codes:
    the exact boundary, a local time on the last day whose offset puts it in the next day
    ('2025-12-31 23:30:00-01:00'), and later instants."""
    kind = rng.random(n)
    delta = rng.integers(SECOND, 400 * DAY, n)
    near = rng.integers(MINUTE, 2 * 60 * MINUTE, n)
    delta = np.where(kind < 0.2, 0, np.where(kind < 0.5, near, delta))
    ts = end_excl_us + (delta // MS) * MS
    fmt = _codes(rng, _TS_W, n)
    off = np.asarray(OFFSETS, dtype=np.int16)[rng.integers(0, len(OFFSETS), n)]
    trick = (kind >= 0.2) & (kind < 0.5)
    fmt[trick] = 3
    shift = -((ts - end_excl_us) // MINUTE + 1 + rng.integers(0, 120, n))
    off = np.where(trick, shift, off).astype(np.int16)
    return ts, fmt, off


def _before(rng: np.random.Generator, signup_us: np.ndarray) -> np.ndarray:
    """Instants before a signup: 1 µs before, or up to 30 days before."""
    n = len(signup_us)
    delta = np.where(rng.random(n) < 0.2, 1, rng.integers(SECOND, 30 * DAY, n))
    return signup_us - delta


def _unknown_ids(rng: np.random.Generator, n: int, n_total_users: int) -> np.ndarray:
    kind = rng.random(n)
    big = n_total_users + 1 + rng.integers(0, 1_000_000_000, n)
    neg = -rng.integers(1, 1_000_000, n)
    return np.where(kind < 0.1, 0, np.where(kind < 0.3, neg, big)).astype(np.int64)


def _ts_cols(prefix: str, ts: np.ndarray, fmt, off, raw) -> dict:
    return {
        prefix: pa.array(ts.astype("datetime64[us]")),
        f"{prefix}_fmt": fmt,
        f"{prefix}_off": off,
        f"{prefix}_raw": raw,
    }


def _id_cols(prefix: str, v, fmt, raw) -> dict:
    return {prefix: v, f"{prefix}_fmt": fmt, f"{prefix}_raw": raw}


def _text_cols(prefix: str, v: pa.Array, fmt) -> dict:
    return {prefix: v, f"{prefix}_fmt": fmt}


def _pool_take(pool: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    arr = pa.array(pool, pa.string())
    mask = codes < 0
    idx = pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask if mask.any() else None)
    return arr.take(idx)


def _split(sel: np.ndarray, counts) -> list[np.ndarray]:
    out, at = [], 0
    for k in counts:
        out.append(sel[at : at + int(k)])
        at += int(k)
    return out


def _dup_deltas(rng: np.random.Generator, n: int, hi: int) -> np.ndarray:
    """30 % exact copies (delta 0), the rest later by 1 ms .. ``hi`` µs (ms resolution)."""
    later = rng.integers(1, max(2, hi // MS), n) * MS
    return np.where(rng.random(n) < 0.3, 0, later)


def dirty_tables(
    rng: np.random.Generator,
    chunk: Chunk,
    dirty: float,
    *,
    n_total_users: int,
    end_excl_us: int,
) -> tuple[dict[str, pa.Table], dict[str, dict[str, int]]]:
    """Truth tables (typed values + format codes) for ``render_select`` and what was
    injected, per table and case."""
    pools = P.get_pools()
    injected: dict[str, dict[str, int]] = {}

    # ------------------------------------------------------------------ users
    n = len(chunk.user_id)
    counts = _allocate(rng, int(round(dirty * n)), len(USER_CASES))
    c_mid, c_mca, c_fut, c_dup, c_dem = (int(x) for x in counts)
    perm = rng.permutation(n)
    modified = c_mid + c_mca + c_fut + c_dem
    mid, mca, fut, dem = _split(perm[:modified], (c_mid, c_mca, c_fut, c_dem))
    ucase = np.zeros(n, dtype=np.int8)
    for code, rows in enumerate((mid, mca, fut), start=1):
        ucase[rows] = code

    created = chunk.created_us.copy()
    # duplicate_email: the email of an untouched user with a smaller id who signed up no
    # later (so this row, not that one, is the duplicate), written in another case/spacing
    untouched = np.sort(perm[modified:])
    cnt = np.searchsorted(untouched, dem)
    pick = np.floor(rng.random(len(dem)) * np.maximum(cnt, 1)).astype(np.int64)
    target = untouched[np.minimum(pick, max(len(untouched) - 1, 0))] if len(untouched) else dem
    ok = (cnt > 0) & (created[target] <= created[dem]) if len(dem) else np.zeros(0, bool)
    dem, target = dem[ok], target[ok]
    ucase[dem] = 5
    email_src = np.arange(n)
    email_src[dem] = target

    fut_ts, fut_fmt, fut_off = _future(rng, len(fut), end_excl_us)
    created[fut] = fut_ts

    # duplicate_id: copies of untouched users, later (same id, signed up again) or exact
    clean_users = np.flatnonzero(ucase == 0)
    src = np.sort(rng.choice(clean_users, size=min(c_dup, len(clean_users)), replace=False))
    delta = _dup_deltas(rng, len(src), 45 * DAY)
    delta = np.where(created[src] + delta >= end_excl_us, 0, delta)
    exact = delta == 0

    rows = np.concatenate([np.arange(n), src])
    total = len(rows)
    uid = chunk.user_id[rows]
    ts = np.concatenate([created, created[src] + delta])
    uid_fmt = _codes(rng, _ID_W, n)
    ts_fmt = _codes(rng, _TS_W, n)
    ts_off = np.asarray(OFFSETS, dtype=np.int16)[rng.integers(0, len(OFFSETS), n)]
    ts_fmt[fut], ts_off[fut] = fut_fmt, fut_off
    email_fmt = _codes(rng, _EMAIL_W, n)
    email_fmt[target] = np.where(email_fmt[target] >= 5, 0, email_fmt[target])  # keep email
    email_fmt[dem] = np.array([0, 1, 3, 8], dtype=np.int8)[rng.integers(0, 4, len(dem))]
    country_fmt = _codes(rng, _COUNTRY_W, n)
    referrer_fmt = _codes(rng, _REFERRER_W, n)
    country_idx = chunk.country_idx.copy()
    referrer_idx = chunk.referrer_idx.copy()
    # non-exact copies may come with a new country / referrer and other formats
    c_country = country_idx[src].copy()
    moved = ~exact & (rng.random(len(src)) < 0.3)
    c_country[moved] = rng.integers(0, len(pools.countries), int(moved.sum()))

    def ext(a: np.ndarray, redraw: np.ndarray) -> np.ndarray:
        return np.concatenate([a, np.where(exact, a[src], redraw)]).astype(a.dtype)

    m = len(src)
    uid_fmt = ext(uid_fmt, _codes(rng, _ID_W, m))
    ts_fmt = ext(ts_fmt, _codes(rng, _TS_W, m))
    ts_off = ext(ts_off, np.asarray(OFFSETS, dtype=np.int16)[rng.integers(0, len(OFFSETS), m)])
    email_fmt = ext(email_fmt, email_fmt[src])
    country_fmt = ext(country_fmt, country_fmt[src])
    referrer_fmt = ext(referrer_fmt, referrer_fmt[src])
    country_idx = np.concatenate([country_idx, c_country])
    referrer_idx = np.concatenate([referrer_idx, referrer_idx[src]])

    uid_raw = np.full(total, -1, dtype=np.int8)
    uid_raw[mid] = _raw_codes(rng, len(mid), 0, len(ID_GARBAGE))
    ts_raw = np.full(total, -1, dtype=np.int8)
    ts_raw[mca] = _raw_codes(rng, len(mca), 0, len(TS_GARBAGE))

    emails = build_emails(
        chunk.user_id[email_src], chunk.first_idx[email_src], chunk.last_idx[email_src],
        chunk.domain_idx[email_src],
    )
    emails = emails.take(pa.array(rows))
    users = pa.table(
        {
            **_id_cols("uid", uid, uid_fmt, uid_raw),
            **_text_cols("email", emails, email_fmt),
            "name": build_names(chunk.first_idx[rows], chunk.last_idx[rows]),
            **_text_cols("country", pools.countries.take(pa.array(country_idx)), country_fmt),
            **_text_cols("referrer", _pool_take(P.REFERRERS, referrer_idx), referrer_fmt),
            **_ts_cols("ts", ts, ts_fmt, ts_off, ts_raw),
        }
    )
    injected["raw_users"] = dict(
        zip(USER_CASES, (len(mid), len(mca), len(fut), len(src), len(dem)), strict=True)
    )
    user_ok = ucase == 0  # events / orders of these users get cases of their own

    # ------------------------------------------------------------------ events
    events, injected["raw_events"] = _facts(
        rng,
        dirty,
        cases=EVENT_CASES,
        ids=chunk.event_id,
        owner=chunk.event_user,
        ts=chunk.event_us,
        user_ok=user_ok,
        chunk=chunk,
        n_total_users=n_total_users,
        end_excl_us=end_excl_us,
        id_name="eid",
        text={
            "etype": (P.EVENT_TYPES, chunk.event_type, _TYPE_W),
            "utm": (P.UTM_SOURCES, chunk.utm, _UTM_W),
        },
    )
    # ------------------------------------------------------------------ orders
    orders, injected["raw_orders"] = _facts(
        rng,
        dirty,
        cases=ORDER_CASES,
        ids=chunk.order_id,
        owner=chunk.order_user,
        ts=chunk.order_us,
        user_ok=user_ok,
        chunk=chunk,
        n_total_users=n_total_users,
        end_excl_us=end_excl_us,
        id_name="oid",
        text={
            "cat": (P.PRODUCT_CATEGORIES, chunk.category, _CAT_W),
            "pay": (P.PAYMENT_METHODS, chunk.payment, _CAT_W),
        },
        cents=chunk.cents,
    )
    return {"raw_users": users, "raw_events": events, "raw_orders": orders}, injected


def _facts(
    rng: np.random.Generator,
    dirty: float,
    *,
    cases: tuple[str, ...],
    ids: np.ndarray,
    owner: np.ndarray,
    ts: np.ndarray,
    user_ok: np.ndarray,
    chunk: Chunk,
    n_total_users: int,
    end_excl_us: int,
    id_name: str,
    text: dict[str, tuple[tuple[str, ...], np.ndarray, tuple]],
    cents: np.ndarray | None = None,
) -> tuple[pa.Table, dict[str, int]]:
    """Events or orders: inject ``cases`` into rows of untouched users, render codes."""
    n = len(ids)
    candidates = np.flatnonzero(user_ok[owner])
    counts = dict(zip(cases, _allocate(rng, int(round(dirty * n)), len(cases)), strict=True))
    perm = candidates[rng.permutation(len(candidates))]
    order = [c for c in cases if c != "duplicate_id"] + ["duplicate_id"]
    want = [int(counts[c]) for c in order]
    room = len(perm)
    got = []
    for k in want:  # never more than there are candidates
        got.append(min(k, room))
        room -= got[-1]
    parts = dict(zip(order, _split(perm, got), strict=True))

    uid = chunk.user_id[owner].copy()
    ts = ts.copy()
    id_raw = np.full(n, -1, dtype=np.int8)
    uid_raw = np.full(n, -1, dtype=np.int8)
    ts_raw = np.full(n, -1, dtype=np.int8)
    id_fmt = _codes(rng, _ID_W, n)
    uid_fmt = _codes(rng, _ID_W, n)
    ts_fmt = _codes(rng, _TS_W, n)
    ts_off = np.asarray(OFFSETS, dtype=np.int16)[rng.integers(0, len(OFFSETS), n)]

    rows = parts["missing_id"]
    id_raw[rows] = _raw_codes(rng, len(rows), 0, len(ID_GARBAGE))
    rows = parts["missing_user_id"]
    uid_raw[rows] = _raw_codes(rng, len(rows), 0, len(ID_GARBAGE))
    rows = parts["missing_timestamp"]
    ts_raw[rows] = _raw_codes(rng, len(rows), 0, len(TS_GARBAGE))
    rows = parts["unknown_user"]
    uid[rows] = _unknown_ids(rng, len(rows), n_total_users)
    rows = parts["future_timestamp"]
    ts[rows], ts_fmt[rows], ts_off[rows] = _future(rng, len(rows), end_excl_us)
    rows = parts["before_signup"]
    ts[rows] = _before(rng, chunk.created_us[owner[rows]])

    amount_raw = np.full(n, -1, dtype=np.int8)
    amount_fmt = None
    if cents is not None:
        amount_fmt = _codes(rng, _AMOUNT_W, n)
        rows = parts["invalid_amount"]
        amount_raw[rows] = _raw_codes(rng, len(rows), 0, len(AMOUNT_GARBAGE))
        odd = np.flatnonzero((amount_raw < 0) & (rng.random(n) < 0.004))
        amount_raw[odd] = _raw_codes(rng, len(odd), len(AMOUNT_GARBAGE), len(_AMOUNT_RAW))

    # duplicate_id: copies of untouched rows, appended; exact copies or later ones whose id
    # may be written differently (' 42', '+42')
    src = np.sort(parts["duplicate_id"])
    m = len(src)
    delta = _dup_deltas(rng, m, DAY)
    exact = delta == 0
    rows = np.concatenate([np.arange(n), src])

    def ext(a: np.ndarray, redraw: np.ndarray | None = None) -> np.ndarray:
        tail = a[src] if redraw is None else np.where(exact, a[src], redraw)
        return np.concatenate([a, tail]).astype(a.dtype)

    cols: dict = {}
    cols.update(_id_cols(id_name, ext(ids), ext(id_fmt, _codes(rng, _ID_W, m)), ext(id_raw)))
    cols.update(_id_cols("uid", ext(uid), ext(uid_fmt), ext(uid_raw)))
    for name, (pool, codes, w) in text.items():
        fmt = _codes(rng, w, n)
        cols.update(_text_cols(name, _pool_take(pool, codes[rows]), ext(fmt)))
    if cents is not None:
        assert amount_fmt is not None
        cols.update(
            {
                "cents": ext(cents),
                "cents_fmt": ext(amount_fmt),
                "cents_raw": ext(amount_raw),
            }
        )
    ts_all = np.concatenate([ts, ts[src] + delta])
    cols.update(
        _ts_cols(
            "ts",
            ts_all,
            ext(ts_fmt, _codes(rng, _TS_W, m)),
            ext(ts_off),
            ext(ts_raw),
        )
    )
    injected = {c: len(parts[c]) for c in cases}
    return pa.table(cols), injected
