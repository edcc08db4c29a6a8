"""Bounded value pools for the synthetic data generator.

Faker (seeded with a fixed seed, so the pools never change between runs) is used only here,
to build a few thousand names, some hundred email domains and the ISO-2 country codes. The
generator then draws from these pools with numpy, which is what keeps it fast at any size.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

FAKER_SEED = 20250101
NAME_POOL_SIZE = 3000
COMPANY_DOMAINS = 300

_NAME_LOCALES = (
    "en_US", "en_GB", "en_IN", "ga_IE", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "sv_SE",
    "pt_BR",
)

#: The event types the package maps (every one of them must occur) and a few it does not.
EVENT_TYPES = (
    "signup", "login", "pageview", "click", "add_to_cart", "purchase",
    "search", "share", "logout",
)
#: Draw weights of the event types for events that are neither the first event of a user
#: (always ``signup``) nor a forced ``purchase``. ``purchase`` is added only for buyers.
EVENT_TYPE_WEIGHTS = (0.0, 0.03, 0.46, 0.26, 0.08, 0.0, 0.08, 0.03, 0.06)

PRODUCT_CATEGORIES = ("subscription", "addon", "renewal", "hardware", "course", "consulting")
PRODUCT_CATEGORY_WEIGHTS = (0.32, 0.18, 0.12, 0.14, 0.16, 0.08)

PAYMENT_METHODS = ("credit_card", "paypal", "apple_pay", "bank_transfer", "wire", "google_pay")
PAYMENT_METHOD_WEIGHTS = (0.50, 0.22, 0.10, 0.08, 0.06, 0.04)

REFERRERS = (
    "google", "direct", "facebook", "twitter", "newsletter", "linkedin", "reddit",
    "producthunt", "bing", "youtube",
)
REFERRER_WEIGHTS = (0.30, 0.22, 0.12, 0.07, 0.09, 0.06, 0.05, 0.03, 0.04, 0.02)

UTM_SOURCES = (
    "google", "facebook", "twitter", "newsletter", "linkedin", "bing", "reddit", "instagram",
    "tiktok", "partner",
)
UTM_WEIGHTS = (0.34, 0.18, 0.08, 0.12, 0.07, 0.06, 0.05, 0.05, 0.03, 0.02)
#: Share of sessions without a ``utm_source`` (direct traffic).
UTM_NULL_SHARE = 0.35

_FREE_EMAIL_DOMAINS = (
    "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "proton.me",
    "aol.com", "gmx.de", "web.de", "mail.com", "yandex.com", "zoho.com",
)
_FREE_EMAIL_WEIGHTS = (0.34, 0.08, 0.07, 0.09, 0.06, 0.02, 0.01, 0.02, 0.01, 0.01, 0.01, 0.01)
#: Share of users on a company domain (the rest use a free mail provider).
_COMPANY_SHARE = 1.0 - sum(_FREE_EMAIL_WEIGHTS)

_COUNTRY_HEAD = {
    "US": 0.30, "GB": 0.08, "DE": 0.07, "IN": 0.07, "CA": 0.05, "FR": 0.05, "BR": 0.04,
    "AU": 0.03, "NL": 0.03, "ES": 0.03, "IT": 0.02, "SE": 0.02, "JP": 0.02, "MX": 0.02,
    "PL": 0.015, "IE": 0.01,
}


@dataclass(frozen=True)
class Pools:
    """Value pools and their draw probabilities (probabilities sum to 1)."""

    first_names: pa.Array  # display form, e.g. "Zoë"
    last_names: pa.Array
    first_local: pa.Array  # lower-case ASCII letters only, for email local parts
    last_local: pa.Array
    email_domains: pa.Array
    email_domain_p: np.ndarray
    countries: pa.Array
    country_p: np.ndarray


def pool_indices(codes: np.ndarray) -> pa.Array:
    """Arrow int32 indices into a pool for the codes of a column, -1 meaning null."""
    codes = np.asarray(codes)
    mask = codes < 0
    return pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask if mask.any() else None)


def _ascii_local(name: str) -> str:
    """'Zoë-Anne O'Neil' -> 'zoeanneoneil' (what goes into an email local part)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z]", "", folded.lower())


def _names(attr: str, rnd) -> list[str]:
    names: set[str] = set()
    for loc in _NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        names.update(getattr(provider, attr, ()) or ())
    usable = sorted(n for n in names if n.strip() == n and _ascii_local(n))
    return rnd.sample(usable, min(NAME_POOL_SIZE, len(usable)))


def _normalise(p) -> np.ndarray:
    arr = np.asarray(p, dtype=np.float64)
    return arr / arr.sum()


@lru_cache(maxsize=1)
def get_pools() -> Pools:
    """Build the pools once per process (deterministic: Faker is seeded with FAKER_SEED)."""
    from faker import Faker
    from faker.providers.address import Provider as AddressProvider

    fake = Faker("en_US")
    fake.seed_instance(FAKER_SEED)
    rnd = fake.random

    first = _names("first_names", rnd)
    last = _names("last_names", rnd)

    company: set[str] = set()
    while len(company) < COMPANY_DOMAINS:
        company.add(fake.domain_name().lower())
    company_list = sorted(company - set(_FREE_EMAIL_DOMAINS))
    domains = list(_FREE_EMAIL_DOMAINS) + company_list
    domain_p = list(_FREE_EMAIL_WEIGHTS) + [_COMPANY_SHARE / len(company_list)] * len(
        company_list
    )

    codes = sorted(set(AddressProvider.alpha_2_country_codes))
    tail = [c for c in codes if c not in _COUNTRY_HEAD]
    tail_share = 1.0 - sum(_COUNTRY_HEAD.values())
    country_p = [_COUNTRY_HEAD.get(c, tail_share / len(tail)) for c in codes]

    return Pools(
        first_names=pa.array(first, pa.string()),
        last_names=pa.array(last, pa.string()),
        first_local=pa.array([_ascii_local(n) for n in first], pa.string()),
        last_local=pa.array([_ascii_local(n) for n in last], pa.string()),
        email_domains=pa.array(domains, pa.string()),
        email_domain_p=_normalise(domain_p),
        countries=pa.array(codes, pa.string()),
        country_p=_normalise(country_p),
    )
