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
#: Exact ties wherever an ordering decides something, drawn from a random stream of their own
#: (see ``make_chunk``). Share of the users whose events tie: some of their events share the
#: timestamp of the previous event (session openers and closers included; tied events differ
#: in type; in some isolated tied pairs the row written first has the larger event_id, and one
#: pair per power of ten among the chunk's ids has ids like 99 and 100, which sort the other
#: way as text).
TIE_SHARE = 0.03
#: Share of a tie user's events (after the first) that share the previous event's timestamp.
TIE_EVENT_SHARE = 0.3
#: Share of the users with two orders or more whose orders tie: on count per product category
#: and per payment method (three in four of them on revenue too), and three in four of their
#: pairs of orders at the very same instant.
TIE_ORDER_SHARE = 0.1


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


def draw(cdf: np.ndarray, rng: np.random.Generator, n: int, dtype: type = np.int8) -> np.ndarray:
    """``n`` codes 0 .. len(cdf) - 1 drawn with the cumulative probabilities ``cdf`` (one
    uniform draw each)."""
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1).astype(dtype)


def _segment_starts(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) - counts


def make_chunk(
    rng: np.random.Generator,
    first_index: int,
    n_users: int,
    n_total: int,
    start_us: int,
    as_of_end_us: int,
    first_event_id: int,
    first_order_id: int,
    tie_rng: np.random.Generator | None = None,
) -> Chunk:
    """Users ``first_index .. first_index + n_users - 1`` (0-based) of ``n_total``, active
    from ``start_us`` up to the as-of date (``as_of_end_us``: its end, exclusive).

    ``tie_rng`` draws the tie users and their ties (none without it), from a stream of its
    own.
    """
    pools = P.get_pools()
    n = n_users
    gi = np.arange(first_index, first_index + n, dtype=np.int64)
    created = _signups(rng, gi, n_total, start_us, as_of_end_us)
    first_idx = rng.integers(0, len(pools.first_names), n, dtype=np.int32)
    last_idx = rng.integers(0, len(pools.last_names), n, dtype=np.int32)
    domain_idx = draw(np.cumsum(pools.email_domain_p), rng, n, np.int32)
    country_idx = draw(np.cumsum(pools.country_p), rng, n, np.int16)
    referrer_idx = draw(_REF_CDF, rng, n)

    n_ev, marathon = _events_per_user(rng, n)
    total = int(n_ev.sum())
    starts = _segment_starts(n_ev)
    ev_user = np.repeat(np.arange(n, dtype=np.int32), n_ev)
    pos = np.arange(total, dtype=np.int64) - np.repeat(starts, n_ev)
    gap = _event_gaps(rng, tie_rng, n_ev, marathon, ev_user, pos) * MS
    cs = np.cumsum(gap)
    if total:
        offset = cs - np.repeat(cs[np.minimum(starts, total - 1)], n_ev)
    else:
        offset = cs
    ev_us = created[ev_user] + offset
    keep = ev_us < as_of_end_us  # the range ends: later activity is not observed
    ev_user, pos, gap, ev_us = ev_user[keep], pos[keep], gap[keep], ev_us[keep]

    etype, session_start = _event_types(rng, n, ev_user, pos, gap)
    event_id = first_event_id + np.arange(len(ev_us), dtype=np.int64)
    if tie_rng is not None and len(ev_us):
        _event_ties(tie_rng, etype, event_id, pos, gap)
    utm = _utm_sources(rng, pos, session_start)
    order_user, order_us, category, payment, cents = _orders(
        rng, tie_rng, n, etype, ev_user, ev_us, as_of_end_us
    )
    return Chunk(
        user_id=gi + 1,
        created_us=created,
        first_idx=first_idx,
        last_idx=last_idx,
        domain_idx=domain_idx,
        country_idx=country_idx,
        referrer_idx=referrer_idx,
        event_id=event_id,
        event_user=ev_user,
        event_us=ev_us,
        event_type=etype,
        utm=utm,
        order_id=first_order_id + np.arange(len(order_us), dtype=np.int64),
        order_user=order_user,
        order_us=order_us,
        category=category,
        payment=payment,
        cents=cents,
    )


def _signups(
    rng: np.random.Generator, gi: np.ndarray, n_total: int, start_us: int, as_of_end_us: int
) -> np.ndarray:
    """Signup instants of the users ``gi`` (0-based among ``n_total``): stratified draws of a
    growing signup rate (density a + (1-a)·2x on the range), so created_at rises with user_id
    and each chunk can be drawn on its own."""
    n = len(gi)
    a = 0.6
    u = (gi + rng.random(n)) / n_total
    x = (-a + np.sqrt(a * a + 4.0 * (1.0 - a) * u)) / (2.0 * (1.0 - a))
    span = as_of_end_us - start_us
    created = start_us + np.minimum((x * span).astype(np.int64), span - 1)
    # precision varies like real sources do: whole seconds, whole minutes, midnight
    r = rng.random(n)
    created = np.where(r < 0.40, created - created % SECOND, created)
    created = np.where(r < 0.04, created - created % MINUTE, created)
    return np.where(r < 0.01, created - created % DAY, created)


def _events_per_user(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Events per user: heavy tailed (lognormal), some users without events, and the
    marathon users (who they are, too)."""
    kind = rng.random(n)
    marathon = kind < MARATHON_SHARE
    zero = (kind >= MARATHON_SHARE) & (kind < MARATHON_SHARE + ZERO_EVENT_SHARE)
    n_ev = 1 + np.floor(rng.lognormal(1.9, 0.9, n)).astype(np.int64)
    n_ev = np.minimum(n_ev, 400)
    n_ev[zero] = 0
    n_ev[marathon] = rng.integers(150, 300, int(marathon.sum()))
    return n_ev, marathon


def _event_gaps(
    rng: np.random.Generator,
    tie_rng: np.random.Generator | None,
    n_ev: np.ndarray,
    marathon: np.ndarray,
    ev_user: np.ndarray,
    pos: np.ndarray,
) -> np.ndarray:
    """Gaps (ms) between a user's consecutive events, 0 before the first: bursts seconds to
    minutes apart, some gaps right around the 30-minute session timeout, breaks of hours to
    days; the tie users' ties are zero gaps."""
    n = len(n_ev)
    total = len(ev_user)
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
    if tie_rng is not None:
        starts = _segment_starts(n_ev)
        tie_user = tie_rng.random(n) < TIE_SHARE
        tu = np.flatnonzero(tie_user & (n_ev >= 2))
        later = n_ev[tu] - 1  # a tie user's events after the first
        te = np.repeat(starts[tu] + 1, later) + (
            np.arange(int(later.sum()), dtype=np.int64) - np.repeat(_segment_starts(later), later)
        )
        gap_ms[te[tie_rng.random(len(te)) < TIE_EVENT_SHARE]] = 0
    return gap_ms


def _event_types(
    rng: np.random.Generator, n: int, ev_user: np.ndarray, pos: np.ndarray, gap: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Event types (signup first; half the session openers a login; buyers' purchases, most
    after an add_to_cart) and which events open a session."""
    ek = len(ev_user)
    kept = np.bincount(ev_user, minlength=n)
    kstarts = _segment_starts(kept)
    etype = draw(_TYPE_CDF, rng, ek)
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
    return etype, session_start


def _event_ties(
    tie_rng: np.random.Generator, etype: np.ndarray, event_id: np.ndarray, pos: np.ndarray, gap: np.ndarray
) -> None:
    """Tied events (in place) differ in type; in some isolated tied pairs the row written
    first has the larger event_id, and one pair per power of ten takes ids like 99 and 100."""
    ek = len(etype)
    # every zero gap after a user's first event is a tie (other gaps are >= 1 s)
    tied = np.flatnonzero((gap == 0) & (pos > 0))
    same = tied[(etype[tied] == etype[tied - 1]) & (etype[tied] != PURCHASE)]
    etype[same] = np.where(etype[same] == PAGEVIEW, CLICK, PAGEVIEW)
    # isolated tied pairs (i-1, i), the signup aside
    nxt = np.minimum(tied + 1, ek - 1)
    alone = (pos[tied - 1] > 0) & (gap[tied - 1] != 0)
    alone &= (tied + 1 == ek) | (pos[nxt] == 0) | (gap[nxt] != 0)
    alone = tied[alone]
    # one of them takes the ids across each power of ten among the chunk's ids (9|10,
    # 99|100, ...): as numbers p - 1 comes first, as text p does
    taken = _ids_across_powers_of_ten(event_id, alone, pos, gap)
    # half of the others swap their ids, so the row written first is the later one by
    # (timestamp, event_id)
    sw = alone[~np.isin(alone, taken) & (tie_rng.random(len(alone)) < 0.5)]
    event_id[sw - 1], event_id[sw] = event_id[sw], event_id[sw - 1]


def _utm_sources(rng: np.random.Generator, pos: np.ndarray, session_start: np.ndarray) -> np.ndarray:
    """utm_source: one per session (null for direct traffic)."""
    ek = len(pos)
    utm_draw = draw(_UTM_CDF, rng, ek)
    utm_draw[rng.random(ek) < P.UTM_NULL_SHARE] = -1
    opens = (pos == 0) | session_start
    head = np.maximum.accumulate(np.where(opens, np.arange(ek), 0)) if ek else np.zeros(0, int)
    return utm_draw[head]


def _orders(
    rng: np.random.Generator,
    tie_rng: np.random.Generator | None,
    n: int,
    etype: np.ndarray,
    ev_user: np.ndarray,
    ev_us: np.ndarray,
    as_of_end_us: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Orders: one per purchase event (a few purchases fail), seconds after it, no later than
    the as-of date. Returns (owner within the chunk, created µs, category, payment, cents)."""
    pidx = np.flatnonzero(etype == PURCHASE)
    pidx = pidx[rng.random(len(pidx)) >= 0.04]
    no = len(pidx)
    order_user = ev_user[pidx]
    delay = np.floor(rng.exponential(25_000.0, no)).astype(np.int64) * MS
    order_us = np.minimum(ev_us[pidx] + delay, as_of_end_us - 1)
    category = draw(_CAT_CDF, rng, no)
    preferred = draw(_PAY_CDF, rng, n)
    payment = np.where(rng.random(no) < 0.75, preferred[order_user], draw(_PAY_CDF, rng, no))
    consulting = category == P.PRODUCT_CATEGORIES.index("consulting")
    payment = np.where(consulting & (rng.random(no) < 0.4), _WIRE, payment).astype(np.int8)
    pairs = np.zeros(0, dtype=np.int64)
    if tie_rng is not None and no:
        pairs, equal_revenue = _order_ties(tie_rng, order_user, order_us, category, payment, n)
    cents = _amounts(rng, category)
    if len(pairs):
        # the second order of each pair costs what the first one does: revenue ties too
        eq = pairs[equal_revenue]
        cents[eq + 1] = cents[eq]
    return order_user, order_us, category, payment, cents


def _ids_across_powers_of_ten(
    event_id: np.ndarray, pairs: np.ndarray, pos: np.ndarray, gap: np.ndarray
) -> list[int]:
    """For each power of ten p with p - 1 and p among ``event_id`` (consecutive, in place),
    give the ids p - 1 and p to the tied events (i - 1, i) of one of ``pairs``, in exchange
    for theirs, when the two events holding p - 1 and p share their timestamp with no other
    event (so their new ids change no order). Returns the pairs used (their i)."""
    ek = len(event_id)
    if not ek:
        return []
    first = int(event_id[0])

    def untied(j: int) -> bool:
        return bool((pos[j] == 0 or gap[j] != 0) and (j + 1 == ek or pos[j + 1] == 0 or gap[j + 1] != 0))

    used: list[int] = []
    free = iter(pairs.tolist())
    p = 10
    while p <= first + ek - 1:
        a, b = p - 1 - first, p - first
        if a >= 0 and untied(a) and untied(b):
            for i in free:
                if not {i - 1, i} & {a, b}:
                    event_id[a], event_id[b] = event_id[i - 1], event_id[i]
                    event_id[i - 1], event_id[i] = p - 1, p
                    used.append(i)
                    break
        p *= 10
    return used


def _order_ties(
    rng: np.random.Generator,
    order_user: np.ndarray,
    order_us: np.ndarray,
    category: np.ndarray,
    payment: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Ties among the orders of TIE_ORDER_SHARE of the users with two orders or more (in
    place): their orders, in pairs, alternate between two product categories and two payment
    methods (so both tie on count), and three in four pairs' second orders take the first
    one's ``created_at``.

    Returns the first order of every pair and, per pair, whether its user's pairs should also
    tie on revenue (three in four users), which the caller applies once amounts are drawn.
    """
    n_o = np.bincount(order_user, minlength=n)
    o_starts = _segment_starts(n_o)
    tu = np.flatnonzero((rng.random(n) < TIE_ORDER_SHARE) & (n_o >= 2))
    k = len(tu)
    s = o_starts[tu]

    def two(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = codes[s], codes[s + 1]
        b = np.where(b == a, (a + 1 + rng.integers(0, size - 1, k)) % size, b)
        return a, b.astype(codes.dtype)

    cat_a, cat_b = two(category, len(P.PRODUCT_CATEGORIES))
    pay_a, pay_b = two(payment, len(P.PAYMENT_METHODS))
    paired = n_o[tu] - n_o[tu] % 2  # orders in pairs (an odd last one keeps its values)
    owner = np.repeat(np.arange(k), paired)
    j = np.arange(int(paired.sum()), dtype=np.int64) - np.repeat(_segment_starts(paired), paired)
    idx = s[owner] + j
    second = j % 2 == 1
    category[idx] = np.where(second, cat_b[owner], cat_a[owner])
    payment[idx] = np.where(second, pay_b[owner], pay_a[owner])
    firsts = idx[~second]
    same_time = firsts[rng.random(len(firsts)) < 0.75]
    order_us[same_time + 1] = order_us[same_time]
    equal_revenue = (rng.random(k) < 0.75)[owner[~second]]
    return firsts, equal_revenue


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
