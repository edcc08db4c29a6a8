"""Dirty mode: inject the contract's data-quality cases into a clean chunk and render every column
as text.

Single cases (every problem flag of the contract's table, ``RawTable.problems``) are
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
``duplicate_id``). ``injected`` reports the rows per case before cascades; the flag of every
row follows from applying the contract to the written rows (``_expected.expected_flags_for_file``).

A flag the contract declares by bad values (``contract.ValueCase``: texts of one column that
its rule rejects) needs no code here: its rows, chosen like any single in-place case, get one
of those texts in that column (``_value_case_codes``).

Valid values are written in varied formats (``T`` separator, ``Z`` or ``±HH:MM`` offsets that
are applied to give UTC, ids with spaces, ``+`` or leading zeros, amounts like ``4990e-2``,
upper-case or padded text, blank event types ...), all of which stay valid.

Text is rendered in DuckDB SQL (``_render``) from typed truth columns plus small integer format
codes, so nothing here loops over rows in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sbdk import _pools as P
from sbdk._chunk import DAY, MINUTE, MS, SECOND, Chunk, build_emails, build_names, draw
from sbdk._render import AMOUNT_GARBAGE, AMOUNT_RAW, ID_GARBAGE, TS_GARBAGE, value_code_column, value_slots
from sbdk.contract import EVENTS, ORDERS, USERS, RawTable

#: Every problem flag of the users table, in the contract's order of precedence (events and
#: orders take theirs from the `RawTable` given to `_facts`).
USER_CASES = USERS.problems
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
    """``n`` format codes drawn with the weights ``w``."""
    return draw(_cdf(w), rng, n)


def _allocate(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Split n injected rows as evenly as possible over k cases (remainder at random)."""
    out = np.full(k, n // k, dtype=np.int64)
    out[rng.permutation(k)[: n % k]] += 1
    return out


def _raw_codes(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    return rng.integers(lo, hi, n).astype(np.int8)


# --------------------------------------------------------------------------- injection


def _after_as_of(rng: np.random.Generator, n: int, as_of_end_us: int):
    """Timestamps on or after the day after ``as_of_date`` (UTC) with their format codes:
    the exact boundary, a local time on the last day whose offset puts it in the next day
    ('2025-12-31 23:30:00-01:00'), and later instants."""
    kind = rng.random(n)
    delta = rng.integers(SECOND, 400 * DAY, n)
    near = rng.integers(MINUTE, 2 * 60 * MINUTE, n)
    delta = np.where(kind < 0.2, 0, np.where(kind < 0.5, near, delta))
    ts = as_of_end_us + (delta // MS) * MS
    fmt = _codes(rng, _TS_W, n)
    off = np.asarray(OFFSETS, dtype=np.int16)[rng.integers(0, len(OFFSETS), n)]
    trick = (kind >= 0.2) & (kind < 0.5)
    fmt[trick] = 3
    shift = -((ts - as_of_end_us) // MINUTE + 1 + rng.integers(0, 120, n))
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
    """pool[codes] as plain strings, -1 meaning null."""
    return pa.array(pool, pa.string()).take(P.pool_indices(codes))


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


def _offsets(rng: np.random.Generator, n: int) -> np.ndarray:
    """UTC offsets (minutes) of ``n`` local-time renderings."""
    return np.asarray(OFFSETS, dtype=np.int16)[rng.integers(0, len(OFFSETS), n)]


def _case_counts(
    rng: np.random.Generator, dirty: float, n: int, cases: tuple[str, ...], combos: tuple[str, ...]
) -> dict[str, int]:
    """How many of ``n`` rows get each case and each combination: about ``dirty`` of them in
    all, about COMBO_SHARE of those with two problems."""
    budget = int(round(dirty * n))
    n_combo = _combo_budget(budget, len(combos))
    counts = dict(zip(cases, (int(k) for k in _allocate(rng, budget - n_combo, len(cases))), strict=True))
    counts.update(zip(combos, (int(k) for k in _allocate(rng, n_combo, len(combos))), strict=True))
    return counts


def _in_place_and_copied(cases: tuple[str, ...], combos: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The cases that change a row in place, and those that append a copy (``duplicate_id``)."""
    every = (*cases, *combos)
    return [c for c in every if not _has(c, "duplicate_id")], [c for c in every if _has(c, "duplicate_id")]


def _concat_spans(groups: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, slice]]:
    """The groups one after the other, and where each one lies in the result."""
    src = np.concatenate([*groups.values(), np.zeros(0, np.int64)]).astype(np.int64)
    bounds = np.cumsum([0] + [len(g) for g in groups.values()])
    return src, {c: slice(int(bounds[i]), int(bounds[i + 1])) for i, c in enumerate(groups)}


def _size(s: slice) -> int:
    return s.stop - s.start


def _value_case_codes(
    rng: np.random.Generator, table: RawTable, parts: dict[str, np.ndarray], n_rows: int
) -> dict[str, np.ndarray]:
    """The ``bad__<column>`` codes of the table's value cases: the rows of each such case get
    one of its texts (``_render.value_slots``), every other row of ``n_rows`` -1."""
    texts, slots = value_slots(table.name)
    codes = {column: np.full(n_rows, -1, dtype=np.int16) for column in texts}
    for flag, (column, start, stop) in slots.items():
        rows = parts[flag]
        codes[column][rows] = rng.integers(start, stop, len(rows))
    return {value_code_column(column): c for column, c in codes.items()}


def dirty_tables(
    rng: np.random.Generator,
    chunk: Chunk,
    dirty: float,
    *,
    n_total_users: int,
    as_of_end_us: int,
) -> tuple[dict[str, pa.Table], dict[str, dict[str, int]]]:
    """Truth tables (typed values + format codes) for ``_render.render_select`` and what was
    injected, per table and case (a case with ``+`` is a row with two problems).

    ``as_of_end_us`` is the first instant after the as-of date (µs since the epoch, UTC): rows
    on or after it are in the future.
    """
    injected: dict[str, dict[str, int]] = {}
    users, injected["raw_users"], user_ok = _users(rng, dirty, chunk=chunk, as_of_end_us=as_of_end_us)
    # events and orders get cases only where their user is untouched (user_ok)
    events, injected["raw_events"] = _facts(
        rng,
        dirty,
        table=EVENTS,
        combos=EVENT_COMBOS,
        ids=chunk.event_id,
        owner=chunk.event_user,
        ts=chunk.event_us,
        user_ok=user_ok,
        chunk=chunk,
        n_total_users=n_total_users,
        as_of_end_us=as_of_end_us,
        id_name="eid",
        text={
            "etype": (P.EVENT_TYPES, chunk.event_type, _TYPE_W, False),
            "utm": (P.UTM_SOURCES, chunk.utm, _UTM_W, True),
        },
    )
    orders, injected["raw_orders"] = _facts(
        rng,
        dirty,
        table=ORDERS,
        combos=ORDER_COMBOS,
        ids=chunk.order_id,
        owner=chunk.order_user,
        ts=chunk.order_us,
        user_ok=user_ok,
        chunk=chunk,
        n_total_users=n_total_users,
        as_of_end_us=as_of_end_us,
        id_name="oid",
        text={
            "cat": (P.PRODUCT_CATEGORIES, chunk.category, _CAT_W, False),
            "pay": (P.PAYMENT_METHODS, chunk.payment, _CAT_W, False),
        },
        cents=chunk.cents,
    )
    return {"raw_users": users, "raw_events": events, "raw_orders": orders}, injected


# --------------------------------------------------------------------------- users


@dataclass
class _UserRows:
    """Which users get which case, and the signups after the in-place cases."""

    #: Per case: the rows changed in place, or (cases with duplicate_id) the copied rows.
    parts: dict[str, np.ndarray]
    #: Per user, whether no case touched it (its events and orders may get cases of their own).
    untouched: np.ndarray
    created: np.ndarray
    #: Format codes and offsets of the users signing up after the as-of date.
    future_fmt: np.ndarray
    future_off: np.ndarray
    #: Per user, whose email it carries (a duplicate_email row: an earlier user's).
    email_src: np.ndarray
    #: The users whose emails other rows carry: these stay as they are.
    protected: np.ndarray
    #: duplicate_id+duplicate_email: whose email each such copy carries.
    email_of: np.ndarray


@dataclass
class _UserCopies:
    """The appended copies: their source rows, each case's span, their signups."""

    src: np.ndarray
    span: dict[str, slice]
    ts: np.ndarray
    #: exact copies: every text as in the original; the others are written anew
    keep: np.ndarray
    #: later copies (not at the original's instant), among the duplicate_id ones
    later: np.ndarray
    #: tie copies (positions among the duplicate_id ones) and the tie-break column each changes
    tie_at: np.ndarray
    tie_col: np.ndarray
    future_fmt: np.ndarray
    future_off: np.ndarray


def _users(
    rng: np.random.Generator, dirty: float, *, chunk: Chunk, as_of_end_us: int
) -> tuple[pa.Table, dict[str, int], np.ndarray]:
    """Users: inject ``USER_CASES`` and ``USER_COMBOS`` (cases with ``duplicate_id`` as appended
    copies of untouched users), render codes. Returns the truth table, the rows per case and
    which users are untouched."""
    n = len(chunk.user_id)
    picked = _pick_users(rng, dirty, chunk, as_of_end_us)
    copies = _user_copies(rng, picked, as_of_end_us)
    m = len(copies.src)
    fmt = _user_formats(rng, picked, copies, len(chunk.user_id))
    variants, variant = _user_tie_copies(rng, chunk, picked, copies, fmt)
    parts, span = picked.parts, copies.span

    rows = np.concatenate([np.arange(n), copies.src])
    uid_raw = np.full(len(rows), -1, dtype=np.int8)
    ts_raw = np.full(len(rows), -1, dtype=np.int8)
    for case in ("missing_id", "missing_id+missing_created_at"):
        uid_raw[parts[case]] = _raw_codes(rng, len(parts[case]), 0, len(ID_GARBAGE))
    for case in ("missing_created_at", "missing_id+missing_created_at"):
        ts_raw[parts[case]] = _raw_codes(rng, len(parts[case]), 0, len(TS_GARBAGE))
    s = span["missing_created_at+duplicate_id"]
    ts_raw[n + np.arange(m)[s]] = _raw_codes(rng, _size(s), 0, len(TS_GARBAGE))

    src = picked.email_src
    emails = build_emails(chunk.user_id[src], chunk.first_idx[src], chunk.last_idx[src], chunk.domain_idx[src])
    email_idx = rows.copy()
    email_idx[n + np.arange(m)[span["duplicate_id+duplicate_email"]]] = picked.email_of
    email_idx[n + variant] = n + np.arange(len(variant))
    emails = pa.concat_arrays([emails, variants]).take(pa.array(email_idx))
    table = pa.table(
        {
            **_id_cols("uid", chunk.user_id[rows], np.concatenate([fmt["uid"], fmt["uid_t"]]), uid_raw),
            **_text_cols("email", emails, np.concatenate([fmt["email"], fmt["email_t"]])),
            "name": build_names(chunk.first_idx[rows], chunk.last_idx[rows]),
            **_text_cols(
                "country",
                P.get_pools().countries.take(pa.array(np.concatenate([chunk.country_idx, fmt["country_code_t"]]))),
                np.concatenate([fmt["country"], fmt["country_t"]]),
            ),
            **_text_cols(
                "referrer",
                _pool_take(P.REFERRERS, np.concatenate([chunk.referrer_idx, fmt["referrer_code_t"]])),
                np.concatenate([fmt["referrer"], fmt["referrer_t"]]),
            ),
            **_ts_cols(
                "ts",
                np.concatenate([picked.created, copies.ts]),
                np.concatenate([fmt["ts"], fmt["ts_t"]]),
                np.concatenate([fmt["ts_off"], fmt["ts_off_t"]]),
                ts_raw,
            ),
            **_value_case_codes(rng, USERS, parts, len(rows)),
        }
    )
    injected = {c: len(parts[c]) for c in (*USER_CASES, *USER_COMBOS)}
    return table, injected, picked.untouched


def _pick_users(rng: np.random.Generator, dirty: float, chunk: Chunk, as_of_end_us: int) -> _UserRows:
    """Choose the rows of each case; apply the in-place signup changes (duplicate_email at
    the very instant of the earlier user, future signups) and choose the copies' sources."""
    n = len(chunk.user_id)
    counts = _case_counts(rng, dirty, n, USER_CASES, USER_COMBOS)
    in_place, copied = _in_place_and_copied(USER_CASES, USER_COMBOS)
    perm = rng.permutation(n)
    n_in_place = sum(counts[c] for c in in_place)
    parts = dict(zip(in_place, _split(perm[:n_in_place], [counts[c] for c in in_place]), strict=True))

    created = chunk.created_us.copy()
    # duplicate_email: the email of an untouched user with a smaller id who signed up no
    # later (so this row, not that one, is the duplicate), written in another case/spacing
    untouched_rows = np.sort(perm[n_in_place:])
    dem = parts["duplicate_email"]
    earlier = np.searchsorted(untouched_rows, dem)
    pick = np.floor(rng.random(len(dem)) * np.maximum(earlier, 1)).astype(np.int64)
    target = untouched_rows[np.minimum(pick, max(len(untouched_rows) - 1, 0))] if len(untouched_rows) else dem
    ok = (earlier > 0) & (created[target] <= created[dem]) if len(dem) else np.zeros(0, bool)
    dem, target = dem[ok], target[ok]
    parts["duplicate_email"] = dem
    email_src = np.arange(n)
    email_src[dem] = target
    # a third of them signed up at the very instant the user with the smaller id did
    same = rng.random(len(dem)) < 0.3
    created[dem[same]] = created[target[same]]

    future = parts["future_timestamp"]
    created[future], future_fmt, future_off = _after_as_of(rng, len(future), as_of_end_us)

    untouched = np.ones(n, dtype=bool)
    for rows in parts.values():
        untouched[rows] = False
    # copies (same user_id) of untouched users, appended: duplicate_id (later, or at the
    # very same instant, then some differ in a tie-break column), and the two-problem copies
    clean_users = np.flatnonzero(untouched)
    sizes = [counts[c] for c in copied]
    sources = rng.choice(clean_users, size=min(sum(sizes), len(clean_users)), replace=False)
    parts.update(zip(copied, (np.sort(g) for g in _split(sources, sizes)), strict=True))
    # duplicate_id+duplicate_email: a copy a moment later than its user's signup, with the
    # email of a kept user who signed up later still (that user stays valid: a duplicate_id
    # row is not a kept user)
    dup_dem = parts["duplicate_id+duplicate_email"]
    dup_dem = dup_dem[created[dup_dem] < as_of_end_us - MINUTE]
    at = np.searchsorted(clean_users, dup_dem)
    email_of = clean_users[(at + 1 + rng.integers(0, 3, len(dup_dem))) % max(len(clean_users), 1)]
    ok = email_of != dup_dem
    parts["duplicate_id+duplicate_email"], email_of = dup_dem[ok], email_of[ok]
    return _UserRows(
        parts=parts, untouched=untouched, created=created, future_fmt=future_fmt, future_off=future_off,
        email_src=email_src, protected=np.concatenate([target, email_of]), email_of=email_of,
    )


def _user_copies(rng: np.random.Generator, picked: _UserRows, as_of_end_us: int) -> _UserCopies:
    """Signups of the appended copies: duplicate_id ones later by up to 45 days or at the
    original's instant (tie copies among them), future ones, and the duplicate_email ones
    a moment later."""
    _, copied = _in_place_and_copied(USER_CASES, USER_COMBOS)
    src, span = _concat_spans({c: picked.parts[c] for c in copied})
    dup = span["duplicate_id"]
    n_dup = _size(dup)
    created = picked.created
    delta = _dup_deltas(rng, n_dup, 45 * DAY)
    tie_at, tie_col = _tie_copies(rng, n_dup, 3)  # email_hash, country_code, referrer_source
    delta[tie_at] = 0
    delta = np.where(created[picked.parts["duplicate_id"]] + delta >= as_of_end_us, 0, delta)
    ts = created[src].copy()
    ts[dup] += delta
    s = span["future_timestamp+duplicate_id"]
    ts[s], future_fmt, future_off = _after_as_of(rng, _size(s), as_of_end_us)
    s = span["duplicate_id+duplicate_email"]
    ts[s] += rng.integers(1, MINUTE // MS, _size(s)) * MS
    keep = np.zeros(len(src), dtype=bool)
    keep[dup] = delta == 0
    keep[tie_at] = False
    later = np.zeros(len(src), dtype=bool)
    later[dup] = delta != 0
    return _UserCopies(
        src=src, span=span, ts=ts, keep=keep, later=later, tie_at=tie_at, tie_col=tie_col,
        future_fmt=future_fmt, future_off=future_off,
    )


#: Email formats a duplicate_email row may take: as is, upper, padded, mixed (never blank).
_DUP_EMAIL_FORMATS = np.array([0, 1, 3, 8], dtype=np.int8)


def _user_formats(
    rng: np.random.Generator, picked: _UserRows, copies: _UserCopies, n: int
) -> dict[str, np.ndarray]:
    """Format codes of the users (``<column>``) and of the copies (``<column>_t``; exact
    copies keep their original's), and the copies' country and referrer codes (a later
    copy may come with a new country)."""
    src, span, m = copies.src, copies.span, len(copies.src)
    fmt: dict[str, np.ndarray] = {}
    fmt["uid"] = _codes(rng, _ID_W, n)
    fmt["ts"] = _codes(rng, _TS_W, n)
    fmt["ts_off"] = _offsets(rng, n)
    future = picked.parts["future_timestamp"]
    fmt["ts"][future], fmt["ts_off"][future] = picked.future_fmt, picked.future_off
    email = _codes(rng, _EMAIL_W, n)
    protected = picked.protected  # their emails must stay as they are
    email[protected] = np.where(email[protected] >= 5, 0, email[protected])
    dem = picked.parts["duplicate_email"]
    email[dem] = _DUP_EMAIL_FORMATS[rng.integers(0, 4, len(dem))]
    fmt["email"] = email
    fmt["country"] = _codes(rng, _COUNTRY_W, n)
    fmt["referrer"] = _codes(rng, _REFERRER_W, n)

    def tail(a: np.ndarray, redraw: np.ndarray) -> np.ndarray:
        return np.where(copies.keep, a[src], redraw).astype(a.dtype)

    fmt["uid_t"] = tail(fmt["uid"], _codes(rng, _ID_W, m))
    fmt["ts_t"] = tail(fmt["ts"], _codes(rng, _TS_W, m))
    fmt["ts_off_t"] = tail(fmt["ts_off"], _offsets(rng, m))
    s = span["future_timestamp+duplicate_id"]
    fmt["ts_t"][s], fmt["ts_off_t"][s] = copies.future_fmt, copies.future_off
    fmt["email_t"] = fmt["email"][src].copy()
    s = span["duplicate_id+duplicate_email"]
    fmt["email_t"][s] = _DUP_EMAIL_FORMATS[rng.integers(0, 4, _size(s))]
    fmt["country_t"] = fmt["country"][src].copy()
    fmt["referrer_t"] = fmt["referrer"][src].copy()
    return fmt


def _user_tie_copies(
    rng: np.random.Generator, chunk: Chunk, picked: _UserRows, copies: _UserCopies, fmt: dict[str, np.ndarray]
) -> tuple[pa.Array, np.ndarray]:
    """The copies' country and referrer codes (``fmt["country_code_t"]``,
    ``fmt["referrer_code_t"]``): a later copy may come with a new country, and a tie copy
    (same instant) has another value in one tie-break column (null or not), so the
    contract's tie-break decides which row is kept; the email of a user another row depends
    on stays as it is (the country changes instead). Returns the tie copies' new emails and
    their positions among the copies."""
    pools = P.get_pools()
    src, m = copies.src, len(copies.src)
    country = chunk.country_idx[src].copy()
    referrer = chunk.referrer_idx[src].copy()
    moved = np.flatnonzero(copies.later & (rng.random(m) < 0.3))
    country[moved] = rng.integers(0, len(pools.countries), len(moved))

    dup = picked.parts["duplicate_id"]
    col = np.full(len(dup), -1, dtype=np.int64)
    col[copies.tie_at] = copies.tie_col
    is_protected = np.zeros(len(chunk.user_id), dtype=bool)
    is_protected[picked.protected] = True
    col[(col == 0) & is_protected[dup]] = 1
    to_null = rng.random(len(dup)) < 0.25
    e = np.flatnonzero(col == 0)
    fmt["email_t"][e] = np.where(to_null[e], 7, 0)
    variant = e[~to_null[e]]
    vu = dup[variant]
    variants = build_emails(
        chunk.user_id[vu],
        (chunk.first_idx[vu] + 1 + rng.integers(0, len(pools.first_names) - 1, len(vu))) % len(pools.first_names),
        chunk.last_idx[vu],
        chunk.domain_idx[vu],
    )
    c = np.flatnonzero(col == 1)
    country[c] = _other_code(rng, country[c], len(pools.countries), False)
    fmt["country_t"][c] = np.where(to_null[c], 7, 0)
    r = np.flatnonzero(col == 2)
    referrer[r] = _other_code(rng, referrer[r], len(P.REFERRERS), False)
    fmt["referrer_t"][r] = np.where(to_null[r], 7, 0)
    fmt["country_code_t"], fmt["referrer_code_t"] = country, referrer
    return variants, variant


# --------------------------------------------------------------------------- events and orders


@dataclass
class _FactRows:
    """The original events or orders with their in-place cases: values, raw-text codes
    (-1: the value is written) and format codes."""

    uid: np.ndarray
    ts: np.ndarray
    id_raw: np.ndarray
    uid_raw: np.ndarray
    ts_raw: np.ndarray
    id_fmt: np.ndarray
    uid_fmt: np.ndarray
    ts_fmt: np.ndarray
    ts_off: np.ndarray
    amount_raw: np.ndarray
    amount_fmt: np.ndarray | None


@dataclass
class _FactCopies:
    """The appended copies (``_t``: the values of the tail), each case's span among them."""

    src: np.ndarray
    span: dict[str, slice]
    #: per copy, the tie-break column it changes (index into the tie-break names), else -1
    col: np.ndarray
    uid: np.ndarray
    ts: np.ndarray
    uid_raw: np.ndarray
    ts_raw: np.ndarray
    id_fmt: np.ndarray
    ts_fmt: np.ndarray
    ts_off: np.ndarray


def _facts(
    rng: np.random.Generator,
    dirty: float,
    *,
    table: RawTable,
    combos: tuple[str, ...],
    ids: np.ndarray,
    owner: np.ndarray,
    ts: np.ndarray,
    user_ok: np.ndarray,
    chunk: Chunk,
    n_total_users: int,
    as_of_end_us: int,
    id_name: str,
    text: dict[str, tuple[tuple[str, ...], np.ndarray, tuple, bool]],
    cents: np.ndarray | None = None,
) -> tuple[pa.Table, dict[str, int]]:
    """Events or orders: inject the table's problems and ``combos`` into rows of untouched
    users (cases with ``duplicate_id`` as appended copies of such rows), render codes."""
    cases = table.problems
    parts = _pick_facts(rng, dirty, cases, combos, len(ids), np.flatnonzero(user_ok[owner]))
    rows = _fact_rows(
        rng, parts, cases, combos, uid=chunk.user_id[owner].copy(), ts=ts.copy(),
        signup_us=chunk.created_us[owner], n_total_users=n_total_users, as_of_end_us=as_of_end_us,
        with_amounts=cents is not None,
    )
    tie_names = ["uid", *(["cents"] if cents is not None else []), *text]
    copies = _fact_copies(rng, parts, cases, combos, rows, tie_names, n_total_users, as_of_end_us)
    _tie_copies_naming_users(rng, copies, owner, user_ok, chunk, tie_names.index("uid"), n_total_users)

    src, m = copies.src, len(copies.src)
    cols: dict = {}
    cols.update(
        _id_cols(
            id_name,
            np.concatenate([ids, ids[src]]),
            np.concatenate([rows.id_fmt, copies.id_fmt]),
            np.concatenate([rows.id_raw, np.full(m, -1, dtype=np.int8)]),
        )
    )
    cols.update(
        _id_cols(
            "uid",
            np.concatenate([rows.uid, copies.uid]),
            np.concatenate([rows.uid_fmt, rows.uid_fmt[src]]),
            np.concatenate([rows.uid_raw, copies.uid_raw]),
        )
    )
    for name, (pool, codes, w, nullable) in text.items():
        fmt = _codes(rng, w, len(ids))
        codes_t = codes[src].copy()
        fmt_t = fmt[src].copy()
        t = np.flatnonzero(copies.col == tie_names.index(name))
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
        cols.update(_amount_cols(rng, cents, rows, copies, tie_names.index("cents")))
    cols.update(
        _ts_cols(
            "ts",
            np.concatenate([rows.ts, copies.ts]),
            np.concatenate([rows.ts_fmt, copies.ts_fmt]),
            np.concatenate([rows.ts_off, copies.ts_off]),
            np.concatenate([rows.ts_raw, copies.ts_raw]),
        )
    )
    cols.update(_value_case_codes(rng, table, parts, len(ids) + m))
    injected = {c: len(parts[c]) for c in (*cases, *combos)}
    return pa.table(cols), injected


def _pick_facts(
    rng: np.random.Generator, dirty: float, cases: tuple[str, ...], combos: tuple[str, ...], n: int,
    candidates: np.ndarray,
) -> dict[str, np.ndarray]:
    """The rows of each case among ``candidates`` of ``n`` rows: the in-place cases first,
    then the rows the copies copy; never more than there are candidates."""
    counts = _case_counts(rng, dirty, n, cases, combos)
    in_place, copied = _in_place_and_copied(cases, combos)
    perm = candidates[rng.permutation(len(candidates))]
    order = in_place + copied
    room = len(perm)
    got = []
    for case in order:
        got.append(min(counts[case], room))
        room -= got[-1]
    return dict(zip(order, _split(perm, got), strict=True))


def _fact_rows(
    rng: np.random.Generator,
    parts: dict[str, np.ndarray],
    cases: tuple[str, ...],
    combos: tuple[str, ...],
    *,
    uid: np.ndarray,
    ts: np.ndarray,
    signup_us: np.ndarray,
    n_total_users: int,
    as_of_end_us: int,
    with_amounts: bool,
) -> _FactRows:
    """Format codes of the original rows, and the in-place cases applied to them (every
    problem of a row's case: a combination has two)."""
    in_place, _ = _in_place_and_copied(cases, combos)

    def in_place_with(problem: str) -> np.ndarray:
        return np.concatenate([parts[c] for c in in_place if _has(c, problem)] + [np.zeros(0, np.int64)])

    n = len(uid)
    r = _FactRows(
        uid=uid,
        ts=ts,
        id_raw=np.full(n, -1, dtype=np.int8),
        uid_raw=np.full(n, -1, dtype=np.int8),
        ts_raw=np.full(n, -1, dtype=np.int8),
        id_fmt=_codes(rng, _ID_W, n),
        uid_fmt=_codes(rng, _ID_W, n),
        ts_fmt=_codes(rng, _TS_W, n),
        ts_off=_offsets(rng, n),
        amount_raw=np.full(n, -1, dtype=np.int8),
        amount_fmt=None,
    )
    rows = in_place_with("missing_id")
    r.id_raw[rows] = _raw_codes(rng, len(rows), 0, len(ID_GARBAGE))
    rows = in_place_with("missing_user_id")
    r.uid_raw[rows] = _raw_codes(rng, len(rows), 0, len(ID_GARBAGE))
    rows = in_place_with("missing_timestamp")
    r.ts_raw[rows] = _raw_codes(rng, len(rows), 0, len(TS_GARBAGE))
    rows = in_place_with("unknown_user")
    r.uid[rows] = _unknown_ids(rng, len(rows), n_total_users)
    rows = in_place_with("future_timestamp")
    r.ts[rows], r.ts_fmt[rows], r.ts_off[rows] = _after_as_of(rng, len(rows), as_of_end_us)
    rows = in_place_with("before_signup")
    r.ts[rows] = _before(rng, signup_us[rows])
    if with_amounts:
        r.amount_fmt = _codes(rng, _AMOUNT_W, n)
        rows = in_place_with("invalid_amount")
        r.amount_raw[rows] = _raw_codes(rng, len(rows), 0, len(AMOUNT_GARBAGE))
        odd = np.flatnonzero((r.amount_raw < 0) & (rng.random(n) < 0.004))
        r.amount_raw[odd] = _raw_codes(rng, len(odd), len(AMOUNT_GARBAGE), len(AMOUNT_RAW))
    return r


def _fact_copies(
    rng: np.random.Generator,
    parts: dict[str, np.ndarray],
    cases: tuple[str, ...],
    combos: tuple[str, ...],
    rows: _FactRows,
    tie_names: list[str],
    n_total_users: int,
    as_of_end_us: int,
) -> _FactCopies:
    """Copies of untouched rows (same id), appended. duplicate_id: exact copies, later ones
    whose id may be written differently (' 42', '+42'), and tie copies (same instant,
    another value in one tie-break column). Two-problem copies: later and naming an
    unknown user, or in the future (duplicate_id); earlier without a user id or with an
    invalid amount, or without a timestamp (their own flag: the original stays valid)."""
    _, copied = _in_place_and_copied(cases, combos)
    src, span = _concat_spans({c: np.sort(parts[c]) for c in copied})
    m = len(src)
    dup = span["duplicate_id"]
    n_dup = _size(dup)
    delta = np.zeros(m, dtype=np.int64)
    delta[dup] = _dup_deltas(rng, n_dup, DAY)
    tie_at, tie_col = _tie_copies(rng, n_dup, len(tie_names))
    delta[tie_at] = 0
    step = rng.integers(1, DAY // MS, m) * MS
    for c in copied:
        if c.startswith("duplicate_id+"):
            delta[span[c]] = step[span[c]]  # later than the original
        elif c != "duplicate_id":
            delta[span[c]] = -step[span[c]]  # earlier than the original
    keep = np.zeros(m, dtype=bool)
    keep[dup] = delta[dup] == 0
    keep[tie_at] = False
    col = np.full(m, -1, dtype=np.int64)
    col[tie_at] = tie_col

    def tail(a: np.ndarray, redraw: np.ndarray) -> np.ndarray:
        return np.where(keep, a[src], redraw).astype(a.dtype)

    t = _FactCopies(
        src=src,
        span=span,
        col=col,
        uid=rows.uid[src],
        ts=rows.ts[src] + delta,
        uid_raw=np.full(m, -1, dtype=np.int8),
        ts_raw=np.full(m, -1, dtype=np.int8),
        id_fmt=tail(rows.id_fmt, _codes(rng, _ID_W, m)),
        ts_fmt=tail(rows.ts_fmt, _codes(rng, _TS_W, m)),
        ts_off=tail(rows.ts_off, _offsets(rng, m)),
    )
    for c in copied:
        s = span[c]
        if _has(c, "future_timestamp"):
            t.ts[s], t.ts_fmt[s], t.ts_off[s] = _after_as_of(rng, _size(s), as_of_end_us)
        if _has(c, "unknown_user"):
            t.uid[s] = _unknown_ids(rng, _size(s), n_total_users)
        if _has(c, "missing_user_id"):
            t.uid_raw[s] = _raw_codes(rng, _size(s), 0, len(ID_GARBAGE))
        if _has(c, "missing_timestamp"):
            t.ts_raw[s] = _raw_codes(rng, _size(s), 0, len(TS_GARBAGE))
    return t


def _tie_copies_naming_users(
    rng: np.random.Generator,
    copies: _FactCopies,
    owner: np.ndarray,
    user_ok: np.ndarray,
    chunk: Chunk,
    uid_col: int,
    n_total_users: int,
) -> None:
    """Tie copies naming another user: a valid user who signed up by then (the copy's id
    decides whether it is kept), else an unknown one."""
    t = np.flatnonzero(copies.col == uid_col)
    o = owner[copies.src[t]]
    v = np.clip(
        o + rng.integers(1, 21, len(t)) * np.where(rng.random(len(t)) < 0.5, -1, 1),
        0, max(len(user_ok) - 1, 0),
    )
    fine = (v != o) & user_ok[v] & (chunk.created_us[v] <= copies.ts[t])
    copies.uid[t] = np.where(fine, chunk.user_id[v], _unknown_ids(rng, len(t), n_total_users))


def _amount_cols(
    rng: np.random.Generator, cents: np.ndarray, rows: _FactRows, copies: _FactCopies, cents_col: int
) -> dict[str, np.ndarray]:
    """The amount columns: a tie copy of an order costs a little more or less than its
    original; the invalid_amount copies get an invalid text."""
    assert rows.amount_fmt is not None
    src = copies.src
    cents_t = cents[src].copy()
    cents_fmt_t = rows.amount_fmt[src].copy()
    cents_raw_t = rows.amount_raw[src].copy()
    t = np.flatnonzero(copies.col == cents_col)
    k = rng.integers(1, 501, len(t))
    lower = (rng.random(len(t)) < 0.5) & (cents_t[t] > k)
    cents_t[t] = np.where(lower, cents_t[t] - k, cents_t[t] + k)
    cents_fmt_t[t] = 0
    cents_raw_t[t] = -1
    for c, s in copies.span.items():
        if _has(c, "invalid_amount"):
            cents_raw_t[s] = _raw_codes(rng, _size(s), 0, len(AMOUNT_GARBAGE))
    return {
        "cents": np.concatenate([cents, cents_t]),
        "cents_fmt": np.concatenate([rows.amount_fmt, cents_fmt_t]),
        "cents_raw": np.concatenate([rows.amount_raw, cents_raw_t]),
    }
