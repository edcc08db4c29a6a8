"""Clean synthetic rows for one chunk of users, as numpy arrays (vectorised, no Python loops
over rows).

Everything here is the *truth*: typed values that satisfy the contract (every row ``valid``
when the models run with ``as_of_date`` = the last day of the range). ``generate`` turns a
chunk into typed Arrow tables (clean mode) or hands it to ``_dirty`` to render text with
injected data-quality cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sbdk import _pools as P

US = 1_000_000
MS = 1_000
SECOND = US
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR
SESSION_TIMEOUT = 30 * MINUTE

SIGNUP, LOGIN, PAGEVIEW, CLICK, ADD_TO_CART, PURCHASE = (
    P.EVENT_TYPES.index(t)
    for t in ("signup", "login", "pageview", "click", "add_to_cart", "purchase")
)

_TYPE_CDF = np.cumsum(P.EVENT_TYPE_WEIGHTS) / sum(P.EVENT_TYPE_WEIGHTS)
_CAT_CDF = np.cumsum(P.PRODUCT_CATEGORY_WEIGHTS) / sum(P.PRODUCT_CATEGORY_WEIGHTS)
_PAY_CDF = np.cumsum(P.PAYMENT_METHOD_WEIGHTS) / sum(P.PAYMENT_METHOD_WEIGHTS)
_REF_CDF = np.cumsum(P.REFERRER_WEIGHTS) / sum(P.REFERRER_WEIGHTS)
_UTM_CDF = np.cumsum(P.UTM_WEIGHTS) / sum(P.UTM_WEIGHTS)
_WIRE = P.PAYMENT_METHODS.index("wire")

#: Share of users who buy (only buyers have purchase events, and so orders).
BUYER_SHARE = 0.30
#: Share of users without any event.
ZERO_EVENT_SHARE = 0.07
#: Share of "marathon" users: long stretches of activity a few minutes apart, so that
#: sessions hit the 12-hour cap.
MARATHON_SHARE = 0.002


@dataclass
class Chunk:
    """Typed truth for one chunk. Indices ``*_idx`` point into the pools of ``_pools``."""

    # users
    user_id: np.ndarray  # int64, 1-based, unique
    created_us: np.ndarray  # int64 µs since epoch (UTC)
    first_idx: np.ndarray
    last_idx: np.ndarray
    domain_idx: np.ndarray
    country_idx: np.ndarray
    referrer_idx: np.ndarray
    # events
    event_id: np.ndarray  # int64, unique
    event_user: np.ndarray  # int32 index of the user within the chunk
    event_us: np.ndarray
    event_type: np.ndarray  # int8 into EVENT_TYPES
    utm: np.ndarray  # int8 into UTM_SOURCES, -1 = null
    # orders
    order_id: np.ndarray
    order_user: np.ndarray
    order_us: np.ndarray
    category: np.ndarray  # int8 into PRODUCT_CATEGORIES
    payment: np.ndarray  # int8 into PAYMENT_METHODS
    cents: np.ndarray  # int64, >= 1


def _draw(cdf: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1).astype(
        np.int8
    )


def _segment_starts(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) - counts


def make_chunk(
    rng: np.random.Generator,
    first_index: int,
    n_users: int,
    n_total: int,
    start_us: int,
    end_excl_us: int,
    first_event_id: int,
    first_order_id: int,
) -> Chunk:
    """Users ``first_index .. first_index + n_users - 1`` (0-based) of ``n_total``."""
    pools = P.get_pools()
    n = n_users
    gi = np.arange(first_index, first_index + n, dtype=np.int64)
    user_id = gi + 1

    # --- signups: stratified draws of a growing signup rate (density a + (1-a)·2x on the
    # range), so created_at rises with user_id and each chunk can be drawn on its own.
    a = 0.6
    u = (gi + rng.random(n)) / n_total
    x = (-a + np.sqrt(a * a + 4.0 * (1.0 - a) * u)) / (2.0 * (1.0 - a))
    span = end_excl_us - start_us
    created = start_us + np.minimum((x * span).astype(np.int64), span - 1)
    # precision varies like real sources do: whole seconds, whole minutes, midnight
    r = rng.random(n)
    created = np.where(r < 0.40, created - created % SECOND, created)
    created = np.where(r < 0.04, created - created % MINUTE, created)
    created = np.where(r < 0.01, created - created % DAY, created)

    first_idx = rng.integers(0, len(pools.first_names), n, dtype=np.int32)
    last_idx = rng.integers(0, len(pools.last_names), n, dtype=np.int32)
    domain_idx = np.searchsorted(np.cumsum(pools.email_domain_p), rng.random(n), side="right")
    domain_idx = np.minimum(domain_idx, len(pools.email_domain_p) - 1).astype(np.int32)
    country_idx = np.searchsorted(np.cumsum(pools.country_p), rng.random(n), side="right")
    country_idx = np.minimum(country_idx, len(pools.country_p) - 1).astype(np.int16)
    referrer_idx = _draw(_REF_CDF, rng, n)

    # --- events per user: heavy tailed (lognormal), some users without events
    kind = rng.random(n)
    marathon = kind < MARATHON_SHARE
    zero = (kind >= MARATHON_SHARE) & (kind < MARATHON_SHARE + ZERO_EVENT_SHARE)
    n_ev = 1 + np.floor(rng.lognormal(1.9, 0.9, n)).astype(np.int64)
    n_ev = np.minimum(n_ev, 400)
    n_ev[zero] = 0
    n_ev[marathon] = rng.integers(150, 300, int(marathon.sum()))

    total = int(n_ev.sum())
    starts = _segment_starts(n_ev)
    ev_user = np.repeat(np.arange(n, dtype=np.int32), n_ev)
    pos = np.arange(total, dtype=np.int64) - np.repeat(starts, n_ev)

    # gaps between a user's consecutive events (ms resolution): bursts seconds to minutes
    # apart, some gaps right around the 30-minute session timeout, breaks of hours to days.
    gap_ms = np.zeros(total, dtype=np.int64)
    rr = rng.random(total)
    is_marathon = marathon[ev_user]
    within = (rr < 0.75) | (is_marathon & (rr < 0.985))
    near = (rr >= 0.75) & (rr < 0.78) & ~within
    brk = ~(within | near)
    k = int(within.sum())
    g = 1_000 + np.floor(rng.exponential(40_000.0, k)).astype(np.int64)
    gm = rng.integers(180_000, 1_500_000, k)  # marathon: 3-25 minutes
    gap_ms[within] = np.where(is_marathon[within], gm, np.minimum(g, 25 * 60_000))
    k = int(near.sum())
    nr = rng.random(k)
    gap_ms[near] = np.where(
        nr < 0.25,
        1_800_000,  # exactly the timeout: same session
        np.where(nr < 0.375, 1_800_001, rng.integers(28 * 60_000, 32 * 60_000 + 1, k)),
    )
    k = int(brk.sum())
    # each user comes back at their own pace (median gap from hours to weeks)
    pace = np.exp(rng.normal(np.log(2 * 86_400_000.0), 1.0, n))
    gb = pace[ev_user[brk]] * np.exp(rng.normal(0.0, 0.9, k))
    gap_ms[brk] = np.clip(gb, 35 * 60_000, 120 * 86_400_000).astype(np.int64)
    gap_ms[pos == 0] = 0
    gap = gap_ms * MS

    cs = np.cumsum(gap)
    if total:
        offset = cs - np.repeat(cs[np.minimum(starts, total - 1)], n_ev)
    else:
        offset = cs
    ev_us = created[ev_user] + offset

    keep = ev_us < end_excl_us  # the range ends: later activity is not observed
    ev_user, pos, gap, ev_us = ev_user[keep], pos[keep], gap[keep], ev_us[keep]
    ek = len(ev_us)
    kept = np.bincount(ev_user, minlength=n)
    kstarts = _segment_starts(kept)

    # --- event types
    etype = _draw(_TYPE_CDF, rng, ek)
    session_start = gap > SESSION_TIMEOUT
    etype[session_start & (rng.random(ek) < 0.5)] = LOGIN
    buyer = rng.random(n) < BUYER_SHARE
    etype[buyer[ev_user] & (pos > 0) & (rng.random(ek) < 0.05)] = PURCHASE
    fb = np.flatnonzero(buyer & (kept >= 2))
    forced = kstarts[fb] + 1 + np.floor(rng.random(len(fb)) * (kept[fb] - 1)).astype(np.int64)
    etype[forced] = PURCHASE
    pidx = np.flatnonzero(etype == PURCHASE)
    prev = pidx - 1
    ok = (pos[pidx] >= 2) & (rng.random(len(pidx)) < 0.6)
    prev = prev[ok]
    prev = prev[etype[prev] != PURCHASE]
    etype[prev] = ADD_TO_CART
    etype[pos == 0] = SIGNUP

    # utm_source: one per session (null for direct traffic)
    utm_draw = _draw(_UTM_CDF, rng, ek)
    utm_draw[rng.random(ek) < P.UTM_NULL_SHARE] = -1
    opens = (pos == 0) | session_start
    head = np.maximum.accumulate(np.where(opens, np.arange(ek), 0)) if ek else np.zeros(0, int)
    utm = utm_draw[head]

    # --- orders: one per purchase event (a few purchases fail), seconds after it
    pidx = np.flatnonzero(etype == PURCHASE)
    pidx = pidx[rng.random(len(pidx)) >= 0.04]
    no = len(pidx)
    order_user = ev_user[pidx]
    delay = np.floor(rng.exponential(25_000.0, no)).astype(np.int64) * MS
    order_us = np.minimum(ev_us[pidx] + delay, end_excl_us - 1)
    category = _draw(_CAT_CDF, rng, no)
    preferred = _draw(_PAY_CDF, rng, n)
    payment = np.where(rng.random(no) < 0.75, preferred[order_user], _draw(_PAY_CDF, rng, no))
    consulting = category == P.PRODUCT_CATEGORIES.index("consulting")
    payment = np.where(consulting & (rng.random(no) < 0.4), _WIRE, payment).astype(np.int8)
    cents = _amounts(rng, category)

    return Chunk(
        user_id=user_id,
        created_us=created,
        first_idx=first_idx,
        last_idx=last_idx,
        domain_idx=domain_idx,
        country_idx=country_idx,
        referrer_idx=referrer_idx,
        event_id=first_event_id + np.arange(ek, dtype=np.int64),
        event_user=ev_user,
        event_us=ev_us,
        event_type=etype,
        utm=utm,
        order_id=first_order_id + np.arange(no, dtype=np.int64),
        order_user=order_user,
        order_us=order_us,
        category=category,
        payment=payment,
        cents=cents,
    )


def _tiers(rng, n, values, p) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)[rng.choice(len(values), n, p=p)]


def _lognormal_cents(rng, n, median, sigma, lo, hi, step) -> np.ndarray:
    v = np.exp(rng.normal(np.log(median), sigma, n))
    v = np.clip(v, lo, hi)
    return (np.floor(v / step) * step).astype(np.int64)


def _amounts(rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
    """Amount in cents by product category (price tiers or lognormal), some discounted."""
    cents = np.zeros(len(category), dtype=np.int64)
    cat = P.PRODUCT_CATEGORIES
    for ci, name in enumerate(cat):
        idx = np.flatnonzero(category == ci)
        k = len(idx)
        if k == 0:
            continue
        if name == "subscription":
            v = _tiers(rng, k, [999, 1999, 2999, 4999, 9900], [0.35, 0.3, 0.15, 0.15, 0.05])
        elif name == "renewal":
            v = _tiers(rng, k, [9900, 19900, 29900, 49900, 99900], [0.3, 0.3, 0.2, 0.15, 0.05])
        elif name == "course":
            v = _tiers(
                rng, k, [1900, 4900, 9900, 19900, 49900, 99900], [0.1, 0.3, 0.3, 0.2, 0.08, 0.02]
            )
        elif name == "addon":
            v = _lognormal_cents(rng, k, 1500, 0.7, 100, 20_000, 100) + 99
        elif name == "hardware":
            v = _lognormal_cents(rng, k, 18_000, 0.8, 1_900, 500_000, 100) + 99
        else:  # consulting and anything else: large, whole dollars
            v = _lognormal_cents(rng, k, 120_000, 0.7, 25_000, 5_000_000, 100)
        cents[idx] = v
    discounted = rng.random(len(cents)) < 0.10
    factor = 1.0 - rng.uniform(0.05, 0.30, len(cents))
    cents = np.where(discounted, np.round(cents * factor).astype(np.int64), cents)
    return np.maximum(cents, 1)


# --------------------------------------------------------------------------- emails

_B36 = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def base36(values: np.ndarray) -> pa.Array:
    """Base-36 text (digits 0-9a-z, no leading zeros) of positive integers, vectorised."""
    v = np.asarray(values, dtype=np.int64)
    n = len(v)
    if n and int(v.min()) < 1:
        raise ValueError("base36 needs positive integers")
    top = int(v.max()) if n else 1
    width = 1
    while 36**width <= top:
        width += 1
    digits = np.empty((n, width), dtype=np.uint8)
    rest = v.copy()
    for k in range(width - 1, -1, -1):
        digits[:, k] = _B36[rest % 36]
        rest //= 36
    offsets = np.arange(n + 1, dtype=np.int32) * width
    arr = pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(digits))
    )
    return pc.utf8_ltrim(arr, characters="0")


def build_emails(
    user_ids: np.ndarray,
    first_idx: np.ndarray,
    last_idx: np.ndarray,
    domain_idx: np.ndarray,
) -> pa.Array:
    """``first.last.<base36(user_id)>@domain``: unique by construction for distinct ids.

    The name parts hold only ``a-z`` and the base-36 part (no leading zeros) follows the last
    dot of the local part, so the local part alone determines the id; the result is already
    lower case without spaces, so ``lower(trim(email))`` is unique as well, at any size.
    """
    pools = P.get_pools()
    local = pc.binary_join_element_wise(
        pools.first_local.take(pa.array(first_idx)),
        pools.last_local.take(pa.array(last_idx)),
        base36(user_ids),
        ".",
    )
    return pc.binary_join_element_wise(local, pools.email_domains.take(pa.array(domain_idx)), "@")


def build_names(first_idx: np.ndarray, last_idx: np.ndarray) -> pa.Array:
    pools = P.get_pools()
    return pc.binary_join_element_wise(
        pools.first_names.take(pa.array(first_idx)),
        pools.last_names.take(pa.array(last_idx)),
        " ",
    )
