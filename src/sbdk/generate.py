"""Synthetic raw data for the sbdk models: ``raw_users``, ``raw_events``, ``raw_orders``.

``generate()`` writes the three tables into ``<schema>`` of a DuckDB file:

* clean mode (``dirty == 0``): typed columns, and every row is ``valid`` under the contract
  when the models run with ``as_of_date`` = ``end`` (the as-of date of the data: the last day
  of activity, and the day after it is the future); a few % of the users have exact ties
  wherever an ordering decides something (events at the same instant, orders at the same
  instant, preferred category / payment method tied on count and revenue; see ``_chunk``);
* dirty mode (``dirty > 0``): every column is VARCHAR, about ``dirty`` of the rows carry an
  injected data-quality case (every flag of the contract occurs; some rows have two problems at
  once, and some duplicates tie with their original on timestamp, see ``_dirty``), and valid
  values come in varied text formats. ``GenerateResult.injected`` counts the rows per injected
  case; the flags the contract then assigns to every row are computed on request by
  ``sbdk._expected.expected_flags_for_file(db, schema, end)`` (the contract's rules in SQL).

Rows are generated vectorised (numpy) in chunks of users, loaded from Arrow into temporary
tables, and swapped in under the final names in one transaction at the end, so a failed or
interrupted run leaves the previous raw tables (or none) in place, never half-written ones.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from sbdk import _dirty, _render
from sbdk import _pools as P
from sbdk._chunk import DAY, Chunk, build_emails, build_names, make_chunk
from sbdk._duckfile import connect_file
from sbdk._signals import raise_if_interrupted, sigint_deferred
from sbdk._sql import quote_ident as _q
from sbdk.arrivals import LOADED_AT, initial_load_time
from sbdk.contract import RAW_TABLES, TABLE_NAMES

__all__ = ["GenerateResult", "generate", "drop_leftover_tmp_tables", "build_emails", "MAX_USERS", "CHUNK_USERS"]

MAX_USERS = 50_000_000
MAX_DIRTY = 0.5
#: Users per chunk: bounds memory (~1M events per chunk) whatever the total size.
CHUNK_USERS = 100_000
TMP_PREFIX = "__sbdk_tmp_"
#: DuckDB buffer limit: keeps the whole run < 2 GB; DuckDB spills to a temporary directory
#: beside the file beyond it.
DUCKDB_MEMORY_LIMIT = "1GB"

_COLUMNS = {name: table.columns for name, table in RAW_TABLES.items()}


@dataclass
class GenerateResult:
    """What ``generate`` wrote: rows per table and (dirty mode) rows per injected case, a case
    with ``+`` being a row with two problems. The flags the contract assigns to the rows are
    ``sbdk._expected.expected_flags_for_file(db_path, schema, end)``."""

    db_path: str
    schema: str
    row_counts: dict[str, int]
    injected: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())


# --------------------------------------------------------------------------- helpers


def _validate(
    users: object, seed: object, schema: object, start: object, end: object, dirty: object
) -> None:
    if isinstance(users, bool) or not isinstance(users, (int, np.integer)):
        raise ValueError(f"users must be a whole number, got {users!r}.")
    if not 0 <= int(users) <= MAX_USERS:
        raise ValueError(f"users must be between 0 and {MAX_USERS:,}, got {int(users):,}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}.")
    if not isinstance(schema, str) or not schema.strip():
        raise ValueError(f"schema must be a non-empty name, got {schema!r}.")
    for label, d in (("start", start), ("end", end)):
        if isinstance(d, datetime) or not isinstance(d, date):
            raise ValueError(f"{label} must be a date (datetime.date), got {d!r}.")
    assert isinstance(start, date) and isinstance(end, date)
    if start > end:
        raise ValueError(f"start ({start.isoformat()}) must not be after end ({end.isoformat()}).")
    if start.year < 1900 or end.year > 9000:
        raise ValueError("start and end must lie between the years 1900 and 9000.")
    if isinstance(dirty, bool) or not isinstance(dirty, (int, float, np.floating, np.integer)):
        raise ValueError(f"dirty must be a number between 0 and {MAX_DIRTY}, got {dirty!r}.")
    if not (0.0 <= float(dirty) <= MAX_DIRTY):  # also rejects NaN
        raise ValueError(f"dirty must be between 0 and {MAX_DIRTY}, got {dirty!r}.")


def _epoch_us(d: date) -> int:
    return (d - date(1970, 1, 1)).days * DAY


def _decimal_array(cents: np.ndarray, precision: int = 12, scale: int = 2) -> pa.Array:
    """decimal128 array from integer cents without a Python loop (two's complement words)."""
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    return pa.Array.from_buffers(
        pa.decimal128(precision, scale), len(cents), [None, pa.py_buffer(words)]
    )


def _ts_array(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype("datetime64[us]"))


def _take(pool: pa.Array, codes: np.ndarray) -> pa.Array:
    """pool[codes] with -1 meaning null, as a dictionary array (DuckDB reads it as VARCHAR,
    faster than plain strings)."""
    return pa.DictionaryArray.from_arrays(P.pool_indices(codes), pool)


_EVENT_TYPES = pa.array(P.EVENT_TYPES, pa.string())
_UTM = pa.array(P.UTM_SOURCES, pa.string())
_CATEGORIES = pa.array(P.PRODUCT_CATEGORIES, pa.string())
_PAYMENTS = pa.array(P.PAYMENT_METHODS, pa.string())
_REFERRERS = pa.array(P.REFERRERS, pa.string())


def clean_tables(chunk: Chunk) -> dict[str, pa.Table]:
    """Typed Arrow tables of a chunk, columns in the order of the raw tables."""
    pools = P.get_pools()
    users = pa.table(
        {
            "user_id": chunk.user_id,
            "email": build_emails(
                chunk.user_id, chunk.first_idx, chunk.last_idx, chunk.domain_idx
            ),
            "name": build_names(chunk.first_idx, chunk.last_idx),
            "country": _take(pools.countries, chunk.country_idx),
            "referrer": _take(_REFERRERS, chunk.referrer_idx),
            "created_at": _ts_array(chunk.created_us),
        }
    )
    events = pa.table(
        {
            "event_id": chunk.event_id,
            "user_id": chunk.user_id[chunk.event_user],
            "event_type": _take(_EVENT_TYPES, chunk.event_type),
            "timestamp": _ts_array(chunk.event_us),
            "utm_source": _take(_UTM, chunk.utm),
        }
    )
    orders = pa.table(
        {
            "order_id": chunk.order_id,
            "user_id": chunk.user_id[chunk.order_user],
            "amount": _decimal_array(chunk.cents),
            "product_category": _take(_CATEGORIES, chunk.category),
            "payment_method": _take(_PAYMENTS, chunk.payment),
            "created_at": _ts_array(chunk.order_us),
        }
    )
    return {"raw_users": users, "raw_events": events, "raw_orders": orders}


# --------------------------------------------------------------------------- pipeline


@dataclass
class _Plan:
    seed: int
    users: int
    start_us: int
    #: the first instant after the as-of date (µs since the epoch, UTC)
    as_of_end_us: int
    dirty: float

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.users / CHUNK_USERS)


def _chunks(plan: _Plan) -> Iterator[tuple[dict[str, pa.Table], dict[str, dict[str, int]]]]:
    """Yield (Arrow tables ready to insert, injected counts) per chunk, in order."""
    next_event = 1
    next_order = 1
    for ci in range(plan.n_chunks):
        first = ci * CHUNK_USERS
        n = min(CHUNK_USERS, plan.users - first)
        rng = np.random.default_rng(np.random.SeedSequence([plan.seed, ci]))
        tie_rng = np.random.default_rng(np.random.SeedSequence([plan.seed, ci, 2]))
        chunk = make_chunk(
            rng, first, n, plan.users, plan.start_us, plan.as_of_end_us, next_event, next_order,
            tie_rng=tie_rng,
        )
        next_event += len(chunk.event_id)
        next_order += len(chunk.order_id)
        if plan.dirty > 0:
            drng = np.random.default_rng(np.random.SeedSequence([plan.seed, ci, 1]))
            tables, injected = _dirty.dirty_tables(
                drng, chunk, plan.dirty, n_total_users=plan.users,
                as_of_end_us=plan.as_of_end_us,
            )
            yield tables, injected
        else:
            yield clean_tables(chunk), {}


def _prefetch(it: Iterator, depth: int = 1) -> Iterator:
    """Run ``it`` in a background thread, ``depth`` items ahead (numpy and DuckDB both
    release the GIL, so generating the next chunk overlaps loading the current one)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def worker() -> None:
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("done", None))
        except BaseException as exc:  # handed to the consumer
            q.put(("error", exc))

    t = threading.Thread(target=worker, name="sbdk-generate", daemon=True)
    t.start()
    try:
        while True:
            kind, payload = q.get()
            if kind == "done":
                return
            if kind == "error":
                raise payload
            yield payload
    finally:
        stop.set()
        # drain so the worker can finish; a second Ctrl-C must not cut this short
        with sigint_deferred():
            while t.is_alive():
                try:
                    q.get(timeout=0.1)
                except queue.Empty:
                    pass
            t.join()


def _create_tmp(conn: duckdb.DuckDBPyConnection, schema: str, dirty: bool) -> dict[str, str]:
    tmp = {}
    for table, cols in _COLUMNS.items():
        name = f"{_q(schema)}.{_q(TMP_PREFIX + table)}"
        coldefs = ", ".join(f"{_q(c)} {'VARCHAR' if dirty else t}" for c, t in cols)
        conn.execute(f"CREATE OR REPLACE TABLE {name} ({coldefs})")
        tmp[table] = name
    return tmp


def _stamp(conn: duckdb.DuckDBPyConnection, tmp: dict[str, str], loaded_at: datetime) -> None:
    """The loaded-at column, last, on every row (and no default left on it)."""
    for name in tmp.values():
        conn.execute(f"ALTER TABLE {name} ADD COLUMN {_q(LOADED_AT)} TIMESTAMP "
                     f"DEFAULT TIMESTAMP '{loaded_at.isoformat(sep=' ')}'")
        conn.execute(f"ALTER TABLE {name} ALTER COLUMN {_q(LOADED_AT)} DROP DEFAULT")


def _drop_tmp(conn: duckdb.DuckDBPyConnection, schema: str) -> None:
    for table in TABLE_NAMES:
        conn.execute(f"DROP TABLE IF EXISTS {_q(schema)}.{_q(TMP_PREFIX + table)}")


def drop_leftover_tmp_tables(db_path: str | Path) -> list[str]:
    """Drop the temporary tables a killed generation left in any schema of ``db_path``
    (call with the run lock held); returns their names. A missing file has none."""
    db_path = Path(db_path)
    if not db_path.exists():
        return []
    with connect_file(db_path) as conn:
        leftovers = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() and starts_with(table_name, ?)", [TMP_PREFIX]
        ).fetchall()
        for schema, name in leftovers:
            conn.execute(f"drop table if exists {_q(schema)}.{_q(name)}")
    return [f"{schema}.{name}" for schema, name in leftovers]


def _relation_kind(conn: duckdb.DuckDBPyConnection, schema: str, name: str) -> str | None:
    row = conn.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return str(row[0][0]) if row else None


def _swap_in(conn: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Replace ``<schema>.raw_*`` by the temporary tables in one transaction."""
    conn.execute("BEGIN TRANSACTION")
    try:
        for table in TABLE_NAMES:
            kind = _relation_kind(conn, schema, table)
            if kind == "VIEW":
                conn.execute(f"DROP VIEW {_q(schema)}.{_q(table)}")
            elif kind is not None:
                conn.execute(f"DROP TABLE {_q(schema)}.{_q(table)}")
            conn.execute(
                f"ALTER TABLE {_q(schema)}.{_q(TMP_PREFIX + table)} RENAME TO {_q(table)}"
            )
        conn.execute("COMMIT")
    except BaseException:
        with sigint_deferred():
            conn.execute("ROLLBACK")
        raise


def _is_interrupt(exc: BaseException) -> bool:
    if isinstance(exc, duckdb.InterruptException):
        return True
    return isinstance(exc, RuntimeError) and str(exc).strip().lower() == "query interrupted"


def _insert(conn: duckdb.DuckDBPyConnection, target: str, table: pa.Table, select: str) -> None:
    view = "__sbdk_chunk"
    conn.register(view, table)
    try:
        conn.execute(f"INSERT INTO {target} {select.format(src=view)}")
    finally:
        conn.unregister(view)


def _select_typed(table: str) -> str:
    cols = ", ".join(_q(c) for c, _ in _COLUMNS[table])
    return f"SELECT {cols} FROM {{src}}"


def _write_chunks(
    conn: duckdb.DuckDBPyConnection, plan: _Plan, tmp: dict[str, str], progress: bool
) -> dict[str, dict[str, int]]:
    """Generate the chunks (in a background thread) and insert them into the temporary
    tables; returns the injected rows per table and case (dirty mode), in total."""
    selects = {
        t: (_render.render_select(t) if plan.dirty > 0 else _select_typed(t))
        for t in TABLE_NAMES
    }
    injected: dict[str, dict[str, int]] = {t: {} for t in TABLE_NAMES} if plan.dirty else {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=plan.n_chunks, desc="sbdk generate", unit="chunk")
    # closed here, not by the garbage collector: its cleanup (stopping the worker
    # thread) then runs under the caller's interrupt handling, never unreported
    chunks = _prefetch(_chunks(plan))
    try:
        for tables, inj in chunks:
            raise_if_interrupted()
            for t in TABLE_NAMES:
                _insert(conn, tmp[t], tables[t], selects[t])
            for t, cases in inj.items():
                for case, k in cases.items():
                    injected[t][case] = injected[t].get(case, 0) + k
            if bar is not None:
                bar.update(1)
    finally:
        chunks.close()
        if bar is not None:
            bar.close()
    return injected


# --------------------------------------------------------------------------- public API


def generate(
    users: int,
    *,
    db_path: str | Path,
    seed: int = 42,
    schema: str = "raw",
    start: date = date(2025, 1, 1),
    end: date = date(2025, 12, 31),
    dirty: float = 0.0,
    progress: bool = False,
    loaded_at: datetime | None = None,
) -> GenerateResult:
    """Write ``raw_users``, ``raw_events`` and ``raw_orders`` for ``users`` users, active from
    ``start`` to ``end``.

    ``end`` is the as-of date of the contract (the models' ``as_of_date``): the last day of
    activity, so clean rows are all ``valid`` as of it, and dirty mode's future rows lie after
    it.

    Every row carries the time it was loaded in the column ``_loaded_at`` (the contract's
    loaded-at column, a timestamp): ``loaded_at``, by default 06:00 the day after ``end``
    (`sbdk.arrivals.initial_load_time`). `sbdk.arrivals.append_arrivals` adds the next day's
    rows to these tables.

    Same arguments give identical tables. Raises ``ValueError`` on bad arguments and lets
    ``duckdb.IOException`` (e.g. the file is locked by another process) propagate; in every
    failure the previous raw tables stay as they were.
    """
    _validate(users, seed, schema, start, end, dirty)
    t0 = time.perf_counter()
    plan = _Plan(
        seed=int(seed),
        users=int(users),
        start_us=_epoch_us(start),
        as_of_end_us=_epoch_us(end + timedelta(days=1)),
        dirty=float(dirty),
    )
    db_path = Path(db_path)
    if db_path.parent and not db_path.parent.exists():
        db_path.parent.mkdir(parents=True, exist_ok=True)
    P.get_pools()  # build the pools before the worker thread starts

    # under a fixed catalog name: in raw.duckdb, "raw" would name the catalog and the schema
    conn = connect_file(db_path)
    tmp_created = False
    try:
        conn.execute(f"SET threads = {max(1, min(4, os.cpu_count() or 1))}")
        conn.execute("SET preserve_insertion_order = true")
        conn.execute("SET enable_progress_bar = false")
        conn.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)}")
        tmp_created = True
        tmp = _create_tmp(conn, schema, dirty=plan.dirty > 0)
        injected = _write_chunks(conn, plan, tmp, progress)
        raise_if_interrupted()
        _stamp(conn, tmp, loaded_at or initial_load_time(end))
        row_counts = {
            t: int(conn.execute(f"SELECT count(*) FROM {tmp[t]}").fetchall()[0][0]) for t in TABLE_NAMES
        }
        injected = {t: {c: k for c, k in cases.items() if k} for t, cases in injected.items()}
        raise_if_interrupted()
        _swap_in(conn, schema)
        tmp_created = False
    except BaseException as exc:
        if tmp_created:
            try:
                with sigint_deferred():
                    _drop_tmp(conn, schema)
            except Exception:  # the original error matters more
                pass
        if _is_interrupt(exc):
            # Ctrl-C while DuckDB runs a query surfaces as a DuckDB error: report it as the
            # interrupt it is
            raise KeyboardInterrupt from exc
        raise
    finally:
        conn.close()

    return GenerateResult(
        db_path=str(db_path),
        schema=schema,
        row_counts=row_counts,
        injected=injected,
        seconds=time.perf_counter() - t0,
    )
