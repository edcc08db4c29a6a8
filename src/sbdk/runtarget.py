"""Where `sbdk run` puts its result on each engine: the engine's lock, where the run builds, and
its commit. `run_target(engine)` gives the `RunTarget` of an engine; `sbdk.pipeline` enters it
(the lock) before anything is written, and calls `RunTarget.commit` after the build passed and
its summary was read.

* **DuckDB**: the result is the ``--db`` file. Its lock, the new file the run builds in and the
  rename that publishes it are `sbdk.runfile`'s; nothing more happens here.
* **PostgreSQL**: the result is the schemas ``raw`` and ``main`` of the target database.

  - *Lock*: ``pg_try_advisory_lock`` of a key hashed from the database name and the schema
    (``hashtextextended('sbdk:<database>:main', 0)``), held by a session of its own, opened
    before anything is written and closed at the end of the command. The server releases it
    when that session ends, also when the process is killed (``kill -9``): a lock is never
    stale. A second command on the same database, whatever its ``--db``, stops at once with
    one line naming the holder's pid (the session's ``application_name``).
  - *Aside*: the raw tables are loaded into ``raw__sbdk_new`` and dbt builds the models into
    ``main__sbdk_new`` (dbt var ``sbdk_raw_schema``, the profile's ``$SBDK_PG_SCHEMA``); both
    are dropped first when a dead run left them, and dropped again at the end of a run that
    did not commit.
  - *Commit*: one transaction drops ``raw`` and ``main`` (cascade) and renames the aside
    schemas to ``raw`` and ``main``. A reader sees the previous result or the new one, never
    a mix; a Ctrl-C, a kill or a failed build before the commit leaves both schemas as they
    were (the server rolls back the open transaction of a dead session). From the commit on,
    a Ctrl-C is ignored (`sbdk._signals.ignore_interrupts`), so the message stays true. The
    models are tables, which do not care what their schema is called (a view would follow
    too: PostgreSQL binds a view to its tables' OIDs, not their names).
  - The two schemas belong to sbdk: objects of your own in them, or depending on their tables
    elsewhere, are dropped by the swap, and grants on the schemas are not carried over.
* **Spark**: the result is the databases ``raw`` and ``main`` of the warehouse under the Spark
  folder. *Lock*: ``flock`` on ``<spark folder>/sbdk.lock`` (created without following a
  symlink), taken before anything is written. Spark has no transaction over several tables:
  the raw tables and the models are replaced one by one, in place. After an interruption or a
  failed build that began loading, the warehouse may hold a mix of this run's tables and the
  previous ones, and the message says so; the next run replaces every table.

No engine here has incremental models: every run replaces the whole result.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from sbdk._files import refuse_foreign
from sbdk._signals import ignore_interrupts
from sbdk._sql import quote_ident as _q
from sbdk.engines import MODEL_SCHEMA, RAW_SCHEMA, Engine, PostgresEngine, SparkEngine
from sbdk.options import UsageError
from sbdk.runfile import LockBusy, flock_or_busy

__all__ = ["ASIDE_SUFFIX", "LockBusy", "PostgresTarget", "RunTarget", "SparkTarget", "aside", "run_target"]

#: The aside schemas of a PostgreSQL run: ``raw__sbdk_new`` and ``main__sbdk_new``.
ASIDE_SUFFIX = "__sbdk_new"
#: How long the commit waits for readers of the old tables before it gives up (the previous
#: result then stays): a ``DROP`` waits for every open transaction that read a table.
SWAP_LOCK_TIMEOUT = "30s"
#: How long dropping a dead run's aside schemas waits for its last queries to end.
LEFTOVER_LOCK_TIMEOUT = "60s"
#: The lock file of a Spark folder.
SPARK_LOCK_FILE = "sbdk.lock"


def aside(schema: str) -> str:
    return schema + ASIDE_SUFFIX


class RunTarget:
    """The result of a run on DuckDB: the ``--db`` file, handled by `sbdk.runfile`."""

    raw_schema = RAW_SCHEMA
    model_schema = MODEL_SCHEMA

    def __init__(self, engine: Engine) -> None:
        #: The engine dbt builds on and the summary is read from.
        self.engine = engine
        #: Whether the run has begun writing into the engine.
        self.touched = False
        self.committed = False

    def __enter__(self) -> RunTarget:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        pass

    def dbt_vars(self) -> dict[str, str]:
        """The dbt vars that point the build at this target's raw tables."""
        return {}

    def load_raw(self, duckdb_file: Path, tables: Sequence[str]) -> None:
        """Copy the generated raw tables into the engine."""
        self.touched = True
        self.engine.load_duckdb_tables(duckdb_file, tables)

    def commit(self) -> None:
        """Make this run's build the engine's result (called once the build passed)."""
        self.committed = True

    def after_failure(self) -> str | None:
        """What the engine holds after a failed build, when that is not the previous result."""
        return None

    def new_result(self) -> str | None:
        """What holds this run's result besides the DuckDB file once the build passed (its
        commit done), None when the DuckDB file is the result."""
        return None

    def previous_result(self, alone: bool = False) -> str | None:
        """What the engine holds after a run that stopped before its commit: a phrase that
        follows "<db> still holds the previous result; " (``alone``: one that follows "no
        result was written to <db>; ", when there was no DuckDB file before), None when there
        is nothing beyond the DuckDB file to say."""
        return None


# ---------------------------------------------------------------- PostgreSQL


class PostgresTarget(RunTarget):
    """Locked by an advisory lock, built aside, swapped in by one transaction."""

    raw_schema = aside(RAW_SCHEMA)
    model_schema = aside(MODEL_SCHEMA)

    def __init__(self, engine: PostgresEngine) -> None:
        super().__init__(PostgresEngine(engine.settings, schema=self.model_schema))
        self.settings = engine.settings
        self._session: Any = None

    def place(self) -> str:
        s = self.settings
        return f"the PostgreSQL schemas {RAW_SCHEMA} and {MODEL_SCHEMA} of database {s['DATABASE']} " \
               f"on {s['HOST']}:{s['PORT']}"

    def __enter__(self) -> PostgresTarget:
        session = self.engine.connect(application_name=f"sbdk (pid {os.getpid()})")
        try:
            with session.cursor() as cur:
                cur.execute("select hashtextextended('sbdk:' || current_database() || ':' || %s, 0)",
                            [MODEL_SCHEMA])
                (key,) = cur.fetchone()
                cur.execute("select pg_try_advisory_lock(%s)", [key])
                (locked,) = cur.fetchone()
                if not locked:
                    holder = _advisory_lock_holder(cur, key)
                    raise LockBusy(f"{self.place()} are in use by another sbdk command (pid {holder}); "
                                   "wait for it to finish")
            self._session = session
            try:
                self._drop_aside(LEFTOVER_LOCK_TIMEOUT)
            except _lock_not_available():
                raise LockBusy(f"the PostgreSQL schemas {self.raw_schema} and {self.model_schema} that an earlier "
                               f"run left are still in use after {LEFTOVER_LOCK_TIMEOUT}; retry when its last "
                               "queries have ended") from None
        except BaseException:
            session.close()
            self._session = None
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.engine.close()
        if self._session is None:
            return
        try:
            if not self.committed:
                # best effort: a query of the interrupted build may still hold a table; what
                # stays is dropped by the next run
                self._drop_aside("5s")
        except Exception:  # noqa: BLE001 - cleanup never hides the run's own outcome
            pass
        finally:
            self._session.close()  # releases the lock
            self._session = None

    def _drop_aside(self, lock_timeout: str) -> None:
        with self._session.cursor() as cur:
            cur.execute("begin")
            cur.execute(f"set local lock_timeout = '{lock_timeout}'")
            for schema in (self.raw_schema, self.model_schema):
                cur.execute(f"drop schema if exists {_q(schema)} cascade")
            cur.execute("commit")

    def dbt_vars(self) -> dict[str, str]:
        return {"sbdk_raw_schema": self.raw_schema}

    def load_raw(self, duckdb_file: Path, tables: Sequence[str]) -> None:
        self.touched = True
        self.engine.load_duckdb_tables(duckdb_file, tables, RAW_SCHEMA, into=self.raw_schema)

    def commit(self) -> None:
        """One transaction: the old ``raw`` and ``main`` dropped, the aside schemas renamed."""
        self.engine.close()
        cur = self._session.cursor()
        try:
            cur.execute("begin")
            cur.execute(f"set local lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
            for schema in (RAW_SCHEMA, MODEL_SCHEMA):
                cur.execute(f"drop schema if exists {_q(schema)} cascade")
                cur.execute(f"alter schema {_q(aside(schema))} rename to {_q(schema)}")
            # the commit point: from here on a Ctrl-C would call the new result the previous one
            ignore_interrupts()
            cur.execute("commit")
        except _lock_not_available():
            cur.execute("rollback")
            raise LockBusy(f"{self.place()} are being read by another session for more than {SWAP_LOCK_TIMEOUT}; "
                           "they still hold the previous result") from None
        except BaseException:
            if not self._session.closed:
                try:
                    cur.execute("rollback")
                except Exception:  # noqa: BLE001 - closing the session rolls back too
                    pass
            raise
        finally:
            cur.close()
        self.committed = True

    def new_result(self) -> str:
        return f"{self.place()} hold the new result"

    def previous_result(self, alone: bool = False) -> str:
        return f"{self.place()} still hold the previous result" if alone else f"so do {self.place()}"


def _lock_not_available() -> type[Exception]:
    from psycopg2.errors import LockNotAvailable

    return LockNotAvailable


def _advisory_lock_holder(cur: Any, key: int) -> str:
    """The pid an sbdk session holding the advisory lock ``key`` named in its application_name."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    cur.execute(
        "select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid "
        "where l.locktype = 'advisory' and l.granted and l.objsubid = 1 "
        "and l.database = (select oid from pg_database where datname = current_database()) "
        "and l.classid = %s::oid and l.objid = %s::oid", [unsigned >> 32, unsigned & 0xFFFFFFFF])
    row = cur.fetchone()
    match = re.fullmatch(r"sbdk \(pid ([0-9]+)\)", row[0] or "") if row else None
    return match[1] if match else "unknown"


# ---------------------------------------------------------------- Spark


class SparkTarget(RunTarget):
    """Locked by ``flock`` on the Spark folder's lock file; built in place."""

    def __init__(self, engine: SparkEngine) -> None:
        super().__init__(engine)
        self.folder = engine.base_dir
        self._fd: int | None = None

    def __enter__(self) -> SparkTarget:
        self._fd = lock_folder(self.folder)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # releases the lock
            self._fd = None

    def after_failure(self) -> str | None:
        return self.previous_result() if self.touched else None

    def new_result(self) -> str:
        return f"the Spark warehouse in {self.folder} holds the new result"

    def previous_result(self, alone: bool = False) -> str:
        if not self.touched:
            return (f"the Spark warehouse in {self.folder} still holds the previous result" if alone
                    else f"so does the Spark warehouse in {self.folder}")
        return (f"the Spark warehouse in {self.folder} may hold a mix of this run's tables and the previous "
                "ones (Spark replaces them one by one); the next run replaces them all")


def lock_folder(folder: Path) -> int:
    """An exclusive ``flock`` on ``folder/sbdk.lock`` (the folder created if needed), holding
    this process's pid; the open descriptor, whose closing releases it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot create the Spark folder {folder}: {exc.strerror}") from None
    path = folder / SPARK_LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            raise UsageError(f"{path} is not a lock file of sbdk's (it is another file or has other names); "
                             "not using it: remove it")
        refuse_foreign(path, st, "the lock file")
        flock_or_busy(fd, f"the Spark folder {folder}")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def run_target(engine: Engine) -> RunTarget:
    """The `RunTarget` of an engine."""
    if isinstance(engine, PostgresEngine):
        return PostgresTarget(engine)
    if isinstance(engine, SparkEngine):
        return SparkTarget(engine)
    return RunTarget(engine)
