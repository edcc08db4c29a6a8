"""Dirty mode: inject the SPEC's data-quality cases into a clean chunk and render every column
as text.

Single cases (``USER_CASES``, ``EVENT_CASES``, ``ORDER_CASES``: every flag of the contract) are
placed on rows of their own: events and orders get cases only when their user is untouched,
``duplicate_id`` rows are appended copies (same id) of untouched rows, later or at the very
same instant, and a ``duplicate_email`` row points at an untouched user who has a smaller id
and signed up no later (a third of them at the very same instant, so the smaller id decides).

Rows with two problems at once (``USER_COMBOS``, ``EVENT_COMBOS``, ``ORDER_COMBOS``; about
``COMBO_SHARE`` of the injected rows, each combination at least once per chunk when there are
enough rows) are named ``first+second`` in the contract's order of precedence, and the flag
they must get is the first:

* in place: ``missing_id+missing_user_id``, ``missing_user_id+missing_timestamp``,
  ``missing_timestamp+invalid_amount``, ``unknown_user+future_timestamp``,
  ``missing_id+missing_created_at``;
* appended copies of an untouched row: a later copy that also names an unknown user or lies
  in the future (``duplicate_id+...``; for users ``future_timestamp+duplicate_id``); a copy with
  an early flag that comes before the original (``missing_user_id+duplicate_id``,
  ``invalid_amount+duplicate_id``, ``missing_timestamp+duplicate_id``,
  ``missing_created_at+duplicate_id``: the original stays valid, since each rule looks only at
  rows that no earlier rule flagged); a user copy a moment later than its original, carrying
  the email of a user who signed up later still (``duplicate_id+duplicate_email``: that user
  stays valid, a ``duplicate_id`` row is no kept user).

Ties among duplicates: ``TIE_COPY_SHARE`` of the ``duplicate_id`` copies (at least one per
tie-break column per chunk when there are enough copies) are tie copies: the original's very
instant, mostly written in another format, and another value (or null) in one tie-break
column of the contract (users: email, country, referrer; events: user_id, event_type,
utm_source; orders: user_id, amount, product_category, payment_method), so the contract's
tie-break decides which of the two rows is kept, often the copy. A tie copy naming another
user names a valid user who signed up by then (the event or order may then become theirs)
or an unknown one. The other exact copies equal their original on every contract column.
Ties among a user's own events and orders come from the clean chunk (``_chunk.TIE_SHARE``).

Events and orders of a user that ends up not ``valid`` become ``unknown_user`` (a cascade), as
does a tie copy naming an unknown user that wins the tie-break (its original is then the
``duplicate_id``). ``expected_flags`` counts every row by applying the contract to the
written rows (see ``_expected``); ``injected`` reports the rows per case before cascades.

Valid values are written in varied formats (``T`` separator, ``Z`` or ``±HH:MM`` offsets that
are applied to give UTC, ids with spaces, ``+`` or leading zeros, amounts like ``4990e-2``,
upper-case or padded text, blank event types ...), all of which stay valid.

Text is rendered in DuckDB SQL (``_render``) from typed truth columns plus small integer format
codes, so nothing here loops over rows in Python.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sbdk import _pools as P
from sbdk._chunk import DAY, MINUTE, MS, SECOND, Chunk, build_emails, build_names
from sbdk._render import AMOUNT_GARBAGE, AMOUNT_RAW, ID_GARBAGE, TS_GARBAGE
from sbdk.contract import EVENTS, ORDERS, USERS

#: Every problem flag of each table, in the contract's order of precedence.
USER_CASES = USERS.problems
EVENT_CASES = EVENTS.problems
ORDER_CASES = ORDERS.problems
#: Rows with two problems at once, named ``<first>+<second>`` in the contract's order of
#: precedence, so the flag each gets is its first part. Combinations with ``duplicate_id``
#: are appended copies (same id) of an untouched row; the others change a row in place.
USER_COMBOS = (
    "missing_id+missing_created_at",
    "future_timestamp+duplicate_id",  # a later copy, in the future
    "missing_created_at+duplicate_id",  # a copy whose created_at is no timestamp
    "duplicate_id+duplicate_email",  # a later copy with the email of a user who signed up later
)
EVENT_COMBOS = (
    "missing_id+missing_user_id",
    "missing_user_id+missing_timestamp",
    "missing_user_id+duplicate_id",  # an earlier copy without a user id: the original is kept
    "missing_timestamp+duplicate_id",  # a copy without a timestamp: the original is kept
    "duplicate_id+unknown_user",  # a later copy naming an unknown user
    "duplicate_id+future_timestamp",  # a later copy, in the future
    "unknown_user+future_timestamp",
)
ORDER_COMBOS = (
    "missing_id+missing_user_id",
    "missing_user_id+missing_timestamp",
    "missing_user_id+duplicate_id",
    "missing_timestamp+invalid_amount",
    "missing_timestamp+duplicate_id",
    "invalid_amount+duplicate_id",  # an earlier copy with an invalid amount: the original is kept
    "duplicate_id+unknown_user",
    "duplicate_id+future_timestamp",
    "unknown_user+future_timestamp",
)
#: Share of the injected rows that have two problems (at least one row of each combination
#: per chunk when there are enough rows).
COMBO_SHARE = 0.15
#: Share of the duplicate_id copies that are tie copies: the original's very instant (often
#: written another way) and another value in one tie-break column of the contract (at least
#: one per column per chunk when there are enough copies).
TIE_COPY_SHARE = 0.2

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


def _combo_budget(budget: int, k: int) -> int:
    """How many of ``budget`` injected rows get two problems: about COMBO_SHARE of them, at
    least one per combination when the budget allows it, never more than half."""
    return min(budget // 2, max(k, int(round(budget * COMBO_SHARE))))


def _tie_copies(rng: np.random.Generator, m: int, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``m`` duplicate copies are tie copies (positions) and which tie-break column
    each one changes (0 .. n_cols-1, every column once before any twice)."""
    k = min(m, max(n_cols, int(round(TIE_COPY_SHARE * m))))
    return rng.permutation(m)[:k], np.arange(k) % n_cols


def _other_code(rng: np.random.Generator, codes: np.ndarray, size: int, nullable: bool) -> np.ndarray:
    """A pool code different from each of ``codes`` (-1, null, counts as a value when
    ``nullable``)."""
    k = len(codes)
    if nullable:
        return (((codes + 1) + 1 + rng.integers(0, size, k)) % (size + 1) - 1).astype(codes.dtype)
    return ((codes + 1 + rng.integers(0, size - 1, k)) % size).astype(codes.dtype)


def _has(case: str, problem: str) -> bool:
    return problem in case.split("+")


def dirty_tables(
    rng: np.random.Generator,
    chunk: Chunk,
    dirty: float,
    *,
    n_total_users: int,
    end_excl_us: int,
) -> tuple[dict[str, pa.Table], dict[str, dict[str, int]]]:
    """Truth tables (typed values + format codes) for ``_render.render_select`` and what was
    injected, per table and case (a case with ``+`` is a row with two problems)."""
    pools = P.get_pools()
    injected: dict[str, dict[str, int]] = {}

    # ------------------------------------------------------------------ users
    n = len(chunk.user_id)
    budget = int(round(dirty * n))
    n_combo = _combo_budget(budget, len(USER_COMBOS))
    c_mid, c_mca, c_fut, c_dup, c_dem = (
        int(x) for x in _allocate(rng, budget - n_combo, len(USER_CASES))
    )
    c_mm, c_fdup, c_mdup, c_ddem = (int(x) for x in _allocate(rng, n_combo, len(USER_COMBOS)))
    perm = rng.permutation(n)
    modified = c_mid + c_mca + c_fut + c_dem + c_mm
    mid, mca, fut, dem, mm = _split(perm[:modified], (c_mid, c_mca, c_fut, c_dem, c_mm))
    ucase = np.zeros(n, dtype=np.int8)
    for code, rows in enumerate((mid, mca, fut), start=1):
        ucase[rows] = code
    ucase[mm] = 6

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
    # a third of them signed up at the very instant the user with the smaller id did
    same = rng.random(len(dem)) < 0.3
    created[dem[same]] = created[target[same]]

    fut_ts, fut_fmt, fut_off = _future(rng, len(fut), end_excl_us)
    created[fut] = fut_ts

    # copies (same user_id) of untouched users, appended: duplicate_id (later, or at the
    # very same instant, then some differ in a tie-break column), and the two-problem copies
    clean_users = np.flatnonzero(ucase == 0)
    sizes = (c_dup, c_fdup, c_mdup, c_ddem)
    src_all = rng.choice(clean_users, size=min(sum(sizes), len(clean_users)), replace=False)
    g_dup, g_fut, g_mca, g_dem = (np.sort(g) for g in _split(src_all, sizes))
    # duplicate_id+duplicate_email: a copy a moment later than its user's signup, with the
    # email of a kept user who signed up later still (that user stays valid: a duplicate_id
    # row is not a kept user)
    g_dem = g_dem[created[g_dem] < end_excl_us - MINUTE]
    at = np.searchsorted(clean_users, g_dem)
    email_of = clean_users[(at + 1 + rng.integers(0, 3, len(g_dem))) % max(len(clean_users), 1)]
    ok = email_of != g_dem
    g_dem, email_of = g_dem[ok], email_of[ok]
    src = np.concatenate([g_dup, g_fut, g_mca, g_dem]).astype(np.int64)
    m0, m1, m2, m3 = len(g_dup), len(g_fut), len(g_mca), len(g_dem)
    m = len(src)
    s_fut, s_mca, s_dem = slice(m0, m0 + m1), slice(m0 + m1, m0 + m1 + m2), slice(m0 + m1 + m2, m)

    delta = _dup_deltas(rng, m0, 45 * DAY)
    tie_at, tie_col = _tie_copies(rng, m0, 3)  # email_hash, country_code, referrer_source
    delta[tie_at] = 0
    delta = np.where(created[g_dup] + delta >= end_excl_us, 0, delta)
    ts_tail = created[src].copy()
    ts_tail[:m0] += delta
    f_ts, f_fmt, f_off = _future(rng, m1, end_excl_us)
    ts_tail[s_fut] = f_ts
    ts_tail[s_dem] += rng.integers(1, MINUTE // MS, m3) * MS
    # exact copies keep every text as it is; the others are written anew
    keep = np.zeros(m, dtype=bool)
    keep[:m0] = delta == 0
    keep[tie_at] = False

    rows = np.concatenate([np.arange(n), src])
    total = len(rows)
    uid = chunk.user_id[rows]
    ts = np.concatenate([created, ts_tail])
    uid_fmt = _codes(rng, _ID_W, n)
    ts_fmt = _codes(rng, _TS_W, n)
    ts_off = np.asarray(OFFSETS, dtype=np.int16)[rng.integers(0, len(OFFSETS), n)]
    ts_fmt[fut], ts_off[fut] = fut_fmt, fut_off
    email_fmt = _codes(rng, _EMAIL_W, n)
    protected = np.concatenate([target, email_of])  # their emails must stay as they are
    email_fmt[protected] = np.where(email_fmt[protected] >= 5, 0, email_fmt[protected])
    email_fmt[dem] = np.array([0, 1, 3, 8], dtype=np.int8)[rng.integers(0, 4, len(dem))]
    country_fmt = _codes(rng, _COUNTRY_W, n)
    referrer_fmt = _codes(rng, _REFERRER_W, n)

    def tail(a: np.ndarray, redraw: np.ndarray) -> np.ndarray:
        return np.where(keep, a[src], redraw).astype(a.dtype)

    uid_fmt_t = tail(uid_fmt, _codes(rng, _ID_W, m))
    ts_fmt_t = tail(ts_fmt, _codes(rng, _TS_W, m))
    ts_off_t = tail(ts_off, np.asarray(OFFSETS, dtype=np.int16)[rng.integers(0, len(OFFSETS), m)])
    ts_fmt_t[s_fut], ts_off_t[s_fut] = f_fmt, f_off
    email_fmt_t = email_fmt[src].copy()
    email_fmt_t[s_dem] = np.array([0, 1, 3, 8], dtype=np.int8)[rng.integers(0, 4, m3)]
    country_fmt_t = country_fmt[src].copy()
    referrer_fmt_t = referrer_fmt[src].copy()
    country_t = chunk.country_idx[src].copy()
    referrer_t = chunk.referrer_idx[src].copy()
    # later copies may come with a new country
    later = np.zeros(m, dtype=bool)
    later[:m0] = delta != 0
    moved = np.flatnonzero(later & (rng.random(m) < 0.3))
    country_t[moved] = rng.integers(0, len(pools.countries), len(moved))

    # tie copies: same instant, another value in one tie-break column (null or not), so the
    # contract's tie-break decides which row is kept; the email of a user another row
    # depends on stays as it is (the country changes instead)
    col = np.full(m0, -1, dtype=np.int64)
    col[tie_at] = tie_col
    is_protected = np.zeros(n, dtype=bool)
    is_protected[protected] = True
    col[(col == 0) & is_protected[g_dup]] = 1
    to_null = rng.random(m0) < 0.25
    e = np.flatnonzero(col == 0)
    email_fmt_t[e] = np.where(to_null[e], 7, 0)
    variant = e[~to_null[e]]
    vu = g_dup[variant]
    variants = build_emails(
        chunk.user_id[vu],
        (chunk.first_idx[vu] + 1 + rng.integers(0, len(pools.first_names) - 1, len(vu)))
        % len(pools.first_names),
        chunk.last_idx[vu],
        chunk.domain_idx[vu],
    )
    c = np.flatnonzero(col == 1)
    country_t[c] = _other_code(rng, country_t[c], len(pools.countries), False)
    country_fmt_t[c] = np.where(to_null[c], 7, 0)
    r = np.flatnonzero(col == 2)
    referrer_t[r] = _other_code(rng, referrer_t[r], len(P.REFERRERS), False)
    referrer_fmt_t[r] = np.where(to_null[r], 7, 0)

    uid_raw = np.full(total, -1, dtype=np.int8)
    uid_raw[mid] = _raw_codes(rng, len(mid), 0, len(ID_GARBAGE))
    uid_raw[mm] = _raw_codes(rng, len(mm), 0, len(ID_GARBAGE))
    ts_raw = np.full(total, -1, dtype=np.int8)
    ts_raw[mca] = _raw_codes(rng, len(mca), 0, len(TS_GARBAGE))
    ts_raw[mm] = _raw_codes(rng, len(mm), 0, len(TS_GARBAGE))
    ts_raw[n + np.arange(m)[s_mca]] = _raw_codes(rng, m2, 0, len(TS_GARBAGE))

    emails = build_emails(
        chunk.user_id[email_src], chunk.first_idx[email_src], chunk.last_idx[email_src],
        chunk.domain_idx[email_src],
    )
    email_idx = rows.copy()
    email_idx[n + np.arange(m)[s_dem]] = email_of
    email_idx[n + variant] = n + np.arange(len(variant))
    emails = pa.concat_arrays([emails, variants]).take(pa.array(email_idx))
    users = pa.table(
        {
            **_id_cols("uid", uid, np.concatenate([uid_fmt, uid_fmt_t]), uid_raw),
            **_text_cols("email", emails, np.concatenate([email_fmt, email_fmt_t])),
            "name": build_names(chunk.first_idx[rows], chunk.last_idx[rows]),
            **_text_cols(
                "country",
                pools.countries.take(pa.array(np.concatenate([chunk.country_idx, country_t]))),
                np.concatenate([country_fmt, country_fmt_t]),
            ),
            **_text_cols(
                "referrer",
                _pool_take(P.REFERRERS, np.concatenate([chunk.referrer_idx, referrer_t])),
                np.concatenate([referrer_fmt, referrer_fmt_t]),
            ),
            **_ts_cols(
                "ts", ts, np.concatenate([ts_fmt, ts_fmt_t]), np.concatenate([ts_off, ts_off_t]),
                ts_raw,
            ),
        }
    )
    injected["raw_users"] = dict(
        zip(
            USER_CASES + USER_COMBOS,
            (len(mid), len(mca), len(fut), m0, len(dem), len(mm), m1, m2, m3),
            strict=True,
        )
    )
    user_ok = ucase == 0  # events / orders of these users get cases of their own

    # ------------------------------------------------------------------ events
    events, injected["raw_events"] = _facts(
        rng,
        dirty,
        cases=EVENT_CASES,
        combos=EVENT_COMBOS,
        ids=chunk.event_id,
        owner=chunk.event_user,
        ts=chunk.event_us,
        user_ok=user_ok,
        chunk=chunk,
        n_total_users=n_total_users,
        end_excl_us=end_excl_us,
        id_name="eid",
        text={
            "etype": (P.EVENT_TYPES, chunk.event_type, _TYPE_W, False),
            "utm": (P.UTM_SOURCES, chunk.utm, _UTM_W, True),
        },
    )
    # ------------------------------------------------------------------ orders
    orders, injected["raw_orders"] = _facts(
        rng,
        dirty,
        cases=ORDER_CASES,
        combos=ORDER_COMBOS,
        ids=chunk.order_id,
        owner=chunk.order_user,
        ts=chunk.order_us,
        user_ok=user_ok,
        chunk=chunk,
        n_total_users=n_total_users,
        end_excl_us=end_excl_us,
        id_name="oid",
        text={
            "cat": (P.PRODUCT_CATEGORIES, chunk.category, _CAT_W, False),
            "pay": (P.PAYMENT_METHODS, chunk.payment, _CAT_W, False),
        },
        cents=chunk.cents,
    )
    return {"raw_users": users, "raw_events": events, "raw_orders": orders}, injected


def _facts(
    rng: np.random.Generator,
    dirty: float,
    *,
    cases: tuple[str, ...],
    combos: tuple[str, ...],
    ids: np.ndarray,
    owner: np.ndarray,
    ts: np.ndarray,
    user_ok: np.ndarray,
    chunk: Chunk,
    n_total_users: int,
    end_excl_us: int,
    id_name: str,
    text: dict[str, tuple[tuple[str, ...], np.ndarray, tuple, bool]],
    cents: np.ndarray | None = None,
) -> tuple[pa.Table, dict[str, int]]:
    """Events or orders: inject ``cases`` and ``combos`` into rows of untouched users (cases
    with ``duplicate_id`` as appended copies of such rows), render codes."""
    n = len(ids)
    candidates = np.flatnonzero(user_ok[owner])
    budget = int(round(dirty * n))
    n_combo = _combo_budget(budget, len(combos))
    counts = dict(zip(cases, _allocate(rng, budget - n_combo, len(cases)), strict=True))
    counts.update(zip(combos, _allocate(rng, n_combo, len(combos)), strict=True))
    copied = [c for c in (*cases, *combos) if _has(c, "duplicate_id")]
    in_place = [c for c in (*cases, *combos) if not _has(c, "duplicate_id")]
    perm = candidates[rng.permutation(len(candidates))]
    order = in_place + copied
    want = [int(counts[c]) for c in order]
    room = len(perm)
    got = []
    for k in want:  # never more than there are candidates
        got.append(min(k, room))
        room -= got[-1]
    parts = dict(zip(order, _split(perm, got), strict=True))

    def in_place_with(problem: str) -> np.ndarray:
        return np.concatenate(
            [parts[c] for c in in_place if _has(c, problem)] + [np.zeros(0, np.int64)]
        )

    uid = chunk.user_id[owner].copy()
    ts = ts.copy()
    id_raw = np.full(n, -1, dtype=np.int8)
    uid_raw = np.full(n, -1, dtype=np.int8)
    ts_raw = np.full(n, -1, dtype=np.int8)
    id_fmt = _codes(rng, _ID_W, n)
    uid_fmt = _codes(rng, _ID_W, n)
    ts_fmt = _codes(rng, _TS_W, n)
    ts_off = np.asarray(OFFSETS, dtype=np.int16)[rng.integers(0, len(OFFSETS), n)]

    rows = in_place_with("missing_id")
    id_raw[rows] = _raw_codes(rng, len(rows), 0, len(ID_GARBAGE))
    rows = in_place_with("missing_user_id")
    uid_raw[rows] = _raw_codes(rng, len(rows), 0, len(ID_GARBAGE))
    rows = in_place_with("missing_timestamp")
    ts_raw[rows] = _raw_codes(rng, len(rows), 0, len(TS_GARBAGE))
    rows = in_place_with("unknown_user")
    uid[rows] = _unknown_ids(rng, len(rows), n_total_users)
    rows = in_place_with("future_timestamp")
    ts[rows], ts_fmt[rows], ts_off[rows] = _future(rng, len(rows), end_excl_us)
    rows = in_place_with("before_signup")
    ts[rows] = _before(rng, chunk.created_us[owner[rows]])

    amount_raw = np.full(n, -1, dtype=np.int8)
    amount_fmt = None
    if cents is not None:
        amount_fmt = _codes(rng, _AMOUNT_W, n)
        rows = in_place_with("invalid_amount")
        amount_raw[rows] = _raw_codes(rng, len(rows), 0, len(AMOUNT_GARBAGE))
        odd = np.flatnonzero((amount_raw < 0) & (rng.random(n) < 0.004))
        amount_raw[odd] = _raw_codes(rng, len(odd), len(AMOUNT_GARBAGE), len(AMOUNT_RAW))

    # copies of untouched rows (same id), appended. duplicate_id: exact copies, later ones
    # whose id may be written differently (' 42', '+42'), and tie copies (same instant,
    # another value in one tie-break column). Two-problem copies: later and naming an
    # unknown user, or in the future (duplicate_id); earlier without a user id or with an
    # invalid amount, or without a timestamp (their own flag: the original stays valid).
    groups = [np.sort(parts[c]) for c in copied]
    src = np.concatenate(groups + [np.zeros(0, np.int64)]).astype(np.int64)
    m = len(src)
    bounds = np.cumsum([0] + [len(g) for g in groups])
    span = {c: slice(int(bounds[i]), int(bounds[i + 1])) for i, c in enumerate(copied)}
    s0 = span["duplicate_id"]
    m0 = s0.stop - s0.start  # the first group

    tie_names = ["uid", *(["cents"] if cents is not None else []), *text]
    delta = np.zeros(m, dtype=np.int64)
    delta[s0] = _dup_deltas(rng, m0, DAY)
    tie_at, tie_col = _tie_copies(rng, m0, len(tie_names))
    delta[tie_at] = 0
    step = rng.integers(1, DAY // MS, m) * MS
    for c in copied:
        if c.startswith("duplicate_id+"):
            delta[span[c]] = step[span[c]]  # later than the original
        elif c != "duplicate_id":
            delta[span[c]] = -step[span[c]]  # earlier than the original
    ts_t = ts[src] + delta
    keep = np.zeros(m, dtype=bool)
    keep[s0] = delta[s0] == 0
    keep[tie_at] = False
    col = np.full(m, -1, dtype=np.int64)
    col[tie_at] = tie_col

    def tail(a: np.ndarray, redraw: np.ndarray) -> np.ndarray:
        return np.where(keep, a[src], redraw).astype(a.dtype)

    id_fmt_t = tail(id_fmt, _codes(rng, _ID_W, m))
    ts_fmt_t = tail(ts_fmt, _codes(rng, _TS_W, m))
    ts_off_t = tail(ts_off, np.asarray(OFFSETS, dtype=np.int16)[rng.integers(0, len(OFFSETS), m)])
    uid_t = uid[src]
    uid_raw_t = np.full(m, -1, dtype=np.int8)
    ts_raw_t = np.full(m, -1, dtype=np.int8)
    for c in copied:
        s = span[c]
        k = s.stop - s.start
        if _has(c, "future_timestamp"):
            ts_t[s], ts_fmt_t[s], ts_off_t[s] = _future(rng, k, end_excl_us)
        if _has(c, "unknown_user"):
            uid_t[s] = _unknown_ids(rng, k, n_total_users)
        if _has(c, "missing_user_id"):
            uid_raw_t[s] = _raw_codes(rng, k, 0, len(ID_GARBAGE))
        if _has(c, "missing_timestamp"):
            ts_raw_t[s] = _raw_codes(rng, k, 0, len(TS_GARBAGE))

    # tie copies naming another user: a valid user who signed up by then (the copy's
    # id decides whether it is kept), else an unknown one
    t = np.flatnonzero(col == tie_names.index("uid"))
    o = owner[src[t]]
    v = np.clip(
        o + rng.integers(1, 21, len(t)) * np.where(rng.random(len(t)) < 0.5, -1, 1),
        0, max(len(user_ok) - 1, 0),
    )
    fine = (v != o) & user_ok[v] & (chunk.created_us[v] <= ts_t[t])
    uid_t[t] = np.where(fine, chunk.user_id[v], _unknown_ids(rng, len(t), n_total_users))

    cols: dict = {}
    cols.update(
        _id_cols(
            id_name,
            np.concatenate([ids, ids[src]]),
            np.concatenate([id_fmt, id_fmt_t]),
            np.concatenate([id_raw, np.full(m, -1, dtype=np.int8)]),
        )
    )
    cols.update(
        _id_cols(
            "uid",
            np.concatenate([uid, uid_t]),
            np.concatenate([uid_fmt, uid_fmt[src]]),
            np.concatenate([uid_raw, uid_raw_t]),
        )
    )
    for name, (pool, codes, w, nullable) in text.items():
        fmt = _codes(rng, w, n)
        codes_t = codes[src].copy()
        fmt_t = fmt[src].copy()
        t = np.flatnonzero(col == tie_names.index(name))
        codes_t[t] = _other_code(rng, codes_t[t], len(pool), nullable)
        fmt_t[t] = 0
        cols.update(
            _text_cols(
                name,
                _pool_take(pool, np.concatenate([codes, codes_t])),
                np.concatenate([fmt, fmt_t]),
            )
        )
    if cents is not None:
        assert amount_fmt is not None
        cents_t = cents[src].copy()
        cents_fmt_t = amount_fmt[src].copy()
        cents_raw_t = amount_raw[src].copy()
        t = np.flatnonzero(col == tie_names.index("cents"))
        k = rng.integers(1, 501, len(t))
        lower = (rng.random(len(t)) < 0.5) & (cents_t[t] > k)
        cents_t[t] = np.where(lower, cents_t[t] - k, cents_t[t] + k)
        cents_fmt_t[t] = 0
        cents_raw_t[t] = -1
        for c in copied:
            if _has(c, "invalid_amount"):
                s = span[c]
                cents_raw_t[s] = _raw_codes(rng, s.stop - s.start, 0, len(AMOUNT_GARBAGE))
        cols.update(
            {
                "cents": np.concatenate([cents, cents_t]),
                "cents_fmt": np.concatenate([amount_fmt, cents_fmt_t]),
                "cents_raw": np.concatenate([amount_raw, cents_raw_t]),
            }
        )
    cols.update(
        _ts_cols(
            "ts",
            np.concatenate([ts, ts_t]),
            np.concatenate([ts_fmt, ts_fmt_t]),
            np.concatenate([ts_off, ts_off_t]),
            np.concatenate([ts_raw, ts_raw_t]),
        )
    )
    injected = {c: len(parts[c]) for c in (*cases, *combos)}
    return pa.table(cols), injected
