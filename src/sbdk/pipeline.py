"""The commands as library functions: `generate_raw` (what `sbdk generate` does) and
`run_pipeline` (what `sbdk run` does: generate → build → publish), each from typed settings
(`sbdk.options.GenerateSettings`, `RunSettings`) to a result object, testable in-process.

A run is one transaction for the user: it holds an exclusive lock on `<db>.lock` from start
to end, builds in a new file in a private folder beside the database and renames it over the
database only when the build succeeded, so the database always holds one complete result (see
`sbdk.runfile`); it replaces only a file that is an sbdk result, and trusts no file beside the
database that is a symbolic link or another user's (`sbdk._files`). On PostgreSQL and Spark it
also holds the engine's lock (an advisory lock on the database and schema; a lock file in the
Spark folder), taken before anything is written; on PostgreSQL it builds in schemas of its own
and swaps them in with one transaction once the build passed, and a Ctrl-C says what each place
holds (see `sbdk.runtarget`).
A run reports its steps as they happen to a `RunReporter` (the command line prints them,
`sbdk.summary`), its summary only once the result is published; problems the user can fix are
raised as `sbdk.options.CliError` (a full disk at the publish named as such), and every setting
is checked before anything is written (`sbdk._settings`). A command
line installs `install_first_interrupt_handler` first, so a Ctrl-C stops a run once, cleanly.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sbdk import defaults
from sbdk._files import check_replaceable, prepare_work_dir, work_dir_for
from sbdk._settings import check_generate_settings, check_run_settings
from sbdk._signals import install_first_interrupt_handler, interrupted, raise_if_interrupted
from sbdk.contract import TABLE_NAMES
from sbdk.engines import MODEL_SCHEMA, DuckDBEngine, Engine, engine_for
from sbdk.options import CliError, GenerateSettings, InterruptedAfterWrite, RunSettings, check_writable, first_line
from sbdk.runfile import BuildDir, LockBusy, RunLock, publish, remove_leftovers

if TYPE_CHECKING:
    from sbdk.arrivals import ArrivalBatch
    from sbdk.generate import GenerateResult
    from sbdk.project import BuildOutcome
    from sbdk.runtarget import RunTarget

__all__ = [
    "AppendedBatch",
    "GeneratedRaw",
    "append_raw",
    "RunReporter",
    "RunResult",
    "RunSummary",
    "generate_raw",
    "install_first_interrupt_handler",
    "read_summary",
    "run_pipeline",
]


@dataclass(frozen=True)
class RunSummary:
    """What a run shows of its result, read the same way on every engine."""

    #: Rows of every model built, in the order of the layers.
    model_rows: list[tuple[str, int]]
    revenue: float
    orders: int
    buyers: int
    #: Users by lifecycle stage, most first.
    stages: list[tuple[str, int]]
    #: (raw table, flag, rows) of the data-quality summary, valid first.
    data_quality: list[tuple[str, str, int]]


@dataclass(frozen=True)
class RunResult:
    """A finished run: the database that now holds it, and what each step produced."""

    db: Path
    #: The generation (None for `--append-days`, which appends to the existing raw tables).
    generated: GenerateResult | None
    #: The last build.
    outcome: BuildOutcome
    summary: RunSummary
    #: What holds the result besides the DuckDB file (PostgreSQL's schemas, the Spark
    #: warehouse), committed before the file is published; None on DuckDB.
    engine_result: str | None = None
    #: The arrival batches of `--append-days` and their builds, in order.
    appended: tuple[AppendedBatch, ...] = ()


class RunReporter(Protocol):
    """Told about each step of a run as it finishes."""

    def generated(self, result: GenerateResult) -> None: ...

    def loaded(self, target: str) -> None: ...

    def built(self, outcome: BuildOutcome, settings: RunSettings) -> None: ...

    def summarized(self, summary: RunSummary) -> None: ...

    def appended(self, step: AppendedBatch) -> None: ...


@dataclass(frozen=True)
class AppendedBatch:
    """One arrival batch of `sbdk run --append-days` and the build after it."""

    batch: ArrivalBatch
    outcome: BuildOutcome
    #: Users whose staging rows the build rewrote (all of them on a full refresh).
    users_reprocessed: int
    full_refresh: bool
    #: The build time of the last full refresh of this result, when one is on record.
    last_full_seconds: float | None


class _Silent:
    def generated(self, result: GenerateResult) -> None:
        pass

    def loaded(self, target: str) -> None:
        pass

    def built(self, outcome: BuildOutcome, settings: RunSettings) -> None:
        pass

    def summarized(self, summary: RunSummary) -> None:
        pass

    def appended(self, step: AppendedBatch) -> None:
        pass


# ---------------------------------------------------------------- errors


def _engine_errors() -> tuple[type[BaseException], ...]:
    """Errors of an engine's client that mean "cannot reach or use it" (one line, not a traceback)."""
    errors: list[type[BaseException]] = [OSError]
    try:
        import psycopg2

        errors.append(psycopg2.Error)
    except ImportError:
        pass
    try:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        errors += [Py4JError, PySparkException]
    except ImportError:
        pass
    return tuple(errors)


def _duckdb_error(exc: Exception, db: Path) -> CliError:
    if "lock" in str(exc).lower():
        return CliError(f"the DuckDB file {db} is in use by another process; close it and retry")
    return CliError(f"DuckDB could not use {db}: {first_line(exc)}")


@contextmanager
def _locked(db: Path) -> Iterator[None]:
    """Hold the run lock of ``db`` (one line naming the holder when another command has it)."""
    try:
        lock = RunLock(db).__enter__()
    except LockBusy as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot lock {db}: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _generate(db: Path, settings: GenerateSettings | RunSettings, schema: str = "raw") -> GenerateResult:
    import duckdb

    from sbdk.generate import generate

    try:
        return generate(settings.users, db_path=db, seed=settings.seed, schema=schema, start=settings.start,
                        end=settings.end, dirty=settings.dirty, progress=settings.progress and sys.stderr.isatty())
    except ValueError as exc:
        raise CliError(str(exc)) from None
    except duckdb.Error as exc:
        raise _duckdb_error(exc, db) from None


# ---------------------------------------------------------------- sbdk generate


@dataclass(frozen=True)
class GeneratedRaw:
    """What `generate_raw` wrote, and (when problems were injected) the flags the contract
    assigns to the rows written, as of ``--end``: {table: {flag: rows}}."""

    result: GenerateResult
    expected_flags: dict[str, dict[str, int]]


def generate_raw(settings: GenerateSettings) -> GeneratedRaw:
    """Write the raw tables into ``settings.db`` (with its run lock held)."""
    import duckdb

    from sbdk.generate import drop_leftover_tmp_tables

    db = settings.db
    check_generate_settings(settings)
    check_writable(db)
    with _locked(db):
        try:
            drop_leftover_tmp_tables(db)
            result = _generate(db, settings, settings.schema)
        except duckdb.Error as exc:
            raise _duckdb_error(exc, db) from None
        expected = _expected_flags(db, settings) if result.injected else {}
    return GeneratedRaw(result, expected)


def append_raw(settings: GenerateSettings) -> ArrivalBatch:
    """Append the next day's arrival batch to the raw tables in ``settings.db`` (with its run
    lock held): `sbdk generate --append`."""
    import duckdb

    from sbdk.arrivals import NoArrivalBase, append_arrivals

    db = settings.db
    check_generate_settings(settings)
    check_writable(db)
    if not db.exists():
        raise CliError(f"--append adds to the raw tables in {db}, and there is no such file: generate them first")
    with _locked(db):
        try:
            return append_arrivals(db, schema=settings.schema, seed=settings.seed)
        except NoArrivalBase as exc:
            raise CliError(f"{db}: {exc}") from None
        except duckdb.Error as exc:
            if interrupted():
                raise KeyboardInterrupt from None
            raise _duckdb_error(exc, db) from None


def _expected_flags(db: Path, settings: GenerateSettings) -> dict[str, dict[str, int]]:
    """The flags the contract gives the rows just written (the new tables are in place by
    now: an interrupt here says so)."""
    import duckdb

    from sbdk._expected import expected_flags_for_file

    written = f"{db} holds the new raw tables; their expected flags were not counted"
    try:
        return expected_flags_for_file(db, settings.schema, settings.end)
    except KeyboardInterrupt:
        raise InterruptedAfterWrite(written) from None
    except Exception as exc:
        # DuckDB reports a query it cancelled for a Ctrl-C as an error ("Query interrupted")
        if interrupted():
            raise InterruptedAfterWrite(written) from None
        if isinstance(exc, duckdb.Error):
            raise _duckdb_error(exc, db) from None
        raise


# ---------------------------------------------------------------- sbdk run


def run_pipeline(settings: RunSettings, reporter: RunReporter | None = None) -> RunResult:
    """Generate, build and summarise in a new file; publish it over ``settings.db`` only on
    success, then report the summary. Returns the result, whose ``db`` is the absolute path of
    the database."""
    check_run_settings(settings)
    reporter = reporter or _Silent()
    db = settings.db.resolve()
    check_writable(db)
    with _locked(db):
        # what the run replaces and the files it trusts, checked before anything is written
        check_replaceable(db)
        prepare_work_dir(work_dir_for(db))
        remove_leftovers(db)
        with BuildDir(db) as build:
            if settings.append_days:
                result = _append_and_build(settings, build.new, db, reporter)
            else:
                result = _generate_and_build(settings, build.new, db, reporter)
            try:
                _finish_new_file(build.new, db)
                _publish(build.new, db)
            except CliError as exc:
                if result.engine_result is None:
                    raise
                # the engine's commit came first: say that it holds the new result
                raise CliError(f"{exc}; but {result.engine_result} (run again to bring the file in line)") from None
    # only now: a summary printed before a failed publish would describe a result nobody has
    reporter.summarized(result.summary)
    return result


# ---------------------------------------------------------------- the publish


#: How a full disk (or a file-size limit) shows: errno, and the texts of DuckDB's errors.
_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_DISK_FULL_TEXTS = ("no space left on device", "file too large", "disk quota exceeded", "out of disk space",
                    "not enough space")


def disk_full_cause(exc: BaseException | str) -> str | None:
    """The text naming a full disk in ``exc`` (an OSError's errno or DuckDB's message), if any."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return os.strerror(exc.errno)
    text = str(exc).lower()
    return next((t for t in _DISK_FULL_TEXTS if t in text), None)


def _not_published(exc: BaseException, db: Path, step: str) -> CliError:
    full = disk_full_cause(exc)
    cause = (f"out of disk space ({full}) in {db.parent}" if full
             else f"{step} failed: {getattr(exc, 'strerror', None) or first_line(exc)}")
    return CliError(f"{cause}; the new result was not published, {db} still holds the previous result"
                    if db.exists() else f"{cause}; the new result was not published to {db}")


def _finish_new_file(new: Path, db: Path) -> None:
    """Fold a write-ahead log the build left into the new file (DuckDB checkpoints on close,
    but only when it has the disk space: a full disk leaves the log behind), so the published
    file is whole; a failure names its cause (a full disk, most likely)."""
    import duckdb

    wal = new.with_name(new.name + ".wal")
    if not wal.exists():
        return
    try:
        with duckdb.connect(str(new)) as conn:
            conn.execute("checkpoint")
    except duckdb.Error as exc:
        if interrupted():  # DuckDB reports the query a Ctrl-C cancelled as an error
            raise KeyboardInterrupt from None
        raise _not_published(exc, db, "finishing the new file") from None
    if wal.exists():
        raise _not_published(RuntimeError(f"{new.name} kept its write-ahead log"), db, "finishing the new file")


def _publish(new: Path, db: Path) -> None:
    """`sbdk.runfile.publish`, its failures as one line saying what ``db`` holds."""
    import duckdb

    try:
        publish(new, db)
    except (OSError, duckdb.Error) as exc:
        if new.exists() or not db.exists():
            raise _not_published(exc, db, "the publish") from None
        # renamed, only the folder's sync failed: the file holds the new result
        raise CliError(f"{db} now holds the new result, but its folder could not be synced to disk: "
                       f"{getattr(exc, 'strerror', None) or first_line(exc)}") from None


def _generate_and_build(settings: RunSettings, new: Path, db: Path, reporter: RunReporter) -> RunResult:
    """Generate into ``new``, build on the target engine, read the summary and commit the
    engine's result (`sbdk.runtarget`: the engine's lock is taken before anything is written)."""
    from sbdk.project import find_project_dir
    from sbdk.runtarget import run_target

    project_dir = find_project_dir()  # before anything is written
    spark_dir = settings.spark_dir or defaults.spark_dir_for(db)
    engine = engine_for(settings.target, duckdb_path=new, spark_dir=spark_dir, memory_limit=settings.memory_limit)
    target = run_target(engine)
    try:
        with _engine_locked(target, settings.target):
            return _build_on(target, settings, new, db, project_dir, reporter)
    except LockBusy as exc:  # the commit waited too long for a reader
        raise CliError(str(exc)) from None
    except KeyboardInterrupt as exc:
        raise _interrupt(exc, db, target) from None
    except Exception:
        if interrupted():  # a Ctrl-C a client reported as its own error (DuckDB: "Query interrupted")
            raise _interrupt(KeyboardInterrupt(), db, target) from None
        raise
    finally:
        engine.close()


def _interrupt(exc: KeyboardInterrupt, db: Path, target: RunTarget) -> KeyboardInterrupt:
    """The interrupt of a run that stopped before its commit, saying what the engine holds
    (and the DuckDB file, or that none was written when there was none before)."""
    if target.previous_result() is None:
        return exc
    if db.exists():
        return InterruptedAfterWrite(f"{db} still holds the previous result; {target.previous_result()}")
    return InterruptedAfterWrite(f"no result was written to {db}; {target.previous_result(alone=True)}")


@contextmanager
def _engine_locked(target: RunTarget, name: str) -> Iterator[RunTarget]:
    """Hold the engine's lock (`RunTarget`); one line when it is busy or cannot be taken."""
    try:
        target.__enter__()
    except LockBusy as exc:
        raise CliError(str(exc)) from None
    except _engine_errors() as exc:
        raise CliError(f"{name}: {first_line(exc)}") from None
    try:
        yield target
    finally:
        target.__exit__(None, None, None)


def _build_on(target: RunTarget, settings: RunSettings, new: Path, db: Path, project_dir: Path,
              reporter: RunReporter) -> RunResult:
    from sbdk.progress import DbtProgress
    from sbdk.project import BuildError, DbtProject

    generated = _generate(new, settings)
    reporter.generated(generated)
    engine = target.engine
    try:
        if settings.target != "duckdb":
            target.load_raw(new, TABLE_NAMES)
            reporter.loaded(settings.target)
        project = DbtProject(work_dir_for(db), {"as_of_date": settings.as_of.isoformat(), **target.dbt_vars()},
                             project_dir=project_dir, threads=settings.threads, target=settings.target,
                             console_log_level="debug" if settings.debug else "none")
        progress = DbtProgress() if settings.progress else None
        with progress or nullcontext():
            outcome = project.build_file(engine, callbacks=[progress] if progress else [])
        reporter.built(outcome, settings)
        outcome.raise_for_errors()
        summary = read_summary(engine, outcome.models, target.model_schema)
        if settings.target == "duckdb":
            _log_build(new, as_of=settings.as_of.isoformat(), full_refresh=True, seconds=outcome.seconds,
                       rows_arrived=generated.total_rows, users_reprocessed=None)
        target.commit()
    except BuildError as exc:
        full = disk_full_cause(str(exc))
        message = f"out of disk space ({full}) during the build: {exc}" if full else str(exc)
        raise CliError(_with_state(message, target)) from None
    except _engine_errors() as exc:
        if interrupted():
            raise KeyboardInterrupt from None
        raise CliError(_with_state(f"{settings.target}: {first_line(exc)}", target)) from None
    finally:
        engine.close()
    return RunResult(db=db, generated=generated, outcome=outcome, summary=summary, engine_result=target.new_result())


# ---------------------------------------------------------------- sbdk run --append-days

#: The table of the DuckDB file that records each build of `sbdk run` (what `--append-days`
#: compares its incremental builds with).
BUILD_LOG = "sbdk_build_log"


def _log_build(new: Path, *, as_of: str, full_refresh: bool, seconds: float, rows_arrived: int | None,
               users_reprocessed: int | None) -> None:
    """One row of `BUILD_LOG` in the new file: the build, what arrived before it, its cost."""
    from sbdk._duckfile import connect_file

    with connect_file(new) as conn:
        conn.execute(f"create table if not exists {MODEL_SCHEMA}.{BUILD_LOG} (logged_at timestamp, "
                     "as_of_date date, full_refresh boolean, build_seconds double, rows_arrived bigint, "
                     "users_reprocessed bigint)")
        conn.execute(f"insert into {MODEL_SCHEMA}.{BUILD_LOG} values (current_timestamp at time zone 'UTC', "
                     "?, ?, ?, ?, ?)", [as_of, full_refresh, seconds, rows_arrived, users_reprocessed])


def _last_full_seconds(engine: Engine) -> float | None:
    try:
        (seconds,) = engine.scalar_row(
            f"select max_by(build_seconds, logged_at) from {MODEL_SCHEMA}.{BUILD_LOG} where full_refresh")
    except Exception:  # noqa: BLE001 - a result written before the log existed
        return None
    return seconds


def _users_reprocessed(engine: Engine, since: str) -> int:
    """Users with a staging row written by the build that started at ``since`` (UTC)."""
    parts = " union ".join(f"select user_id from {MODEL_SCHEMA}.{m} where dbt_updated_at >= timestamp '{since}' "
                           "and user_id is not null" for m in ("stg_users", "stg_events", "stg_orders"))
    return engine.scalar_row(f"select count(*) from ({parts}) as rewritten")[0]


def _copy_result(db: Path, new: Path) -> None:
    """Copy the result in ``db`` to ``new`` (its write-ahead log folded in first: the copy must
    be whole); ``db`` itself is left as it is."""
    import shutil

    import duckdb

    if db.with_name(db.name + ".wal").exists():
        try:
            with duckdb.connect(str(db)) as conn:
                conn.execute("checkpoint")
        except duckdb.Error as exc:
            raise _duckdb_error(exc, db) from None
    try:
        shutil.copyfile(db, new)
    except OSError as exc:
        raise _not_published(exc, db, "copying the previous result") from None


def _check_appendable(db: Path) -> None:
    """``db`` holds a result `--append-days` can build on: the raw tables and the models."""
    import duckdb

    from sbdk._duckfile import connect_file

    if not db.exists() or db.stat().st_size == 0:
        raise CliError(f"--append-days appends to the result in {db}, and there is none: run `sbdk run` first")
    try:
        with connect_file(db, read_only=True) as conn:
            found = {name for (name,) in conn.execute(
                "select table_name from information_schema.tables where table_catalog = current_database() "
                f"and table_schema = '{MODEL_SCHEMA}'").fetchall()}
    except duckdb.Error as exc:
        raise _duckdb_error(exc, db) from None
    if "user_metrics" not in found:
        raise CliError(f"{db} holds raw tables but no built models: run `sbdk run` first, then --append-days")


def _append_and_build(settings: RunSettings, new: Path, db: Path, reporter: RunReporter) -> RunResult:
    """Copy the result, then for each of the days: append its arrival batch and build (an
    incremental `dbt build`, or `--full-refresh`); all in ``new``, published by the caller."""
    from datetime import datetime, timezone

    from sbdk.arrivals import NoArrivalBase, append_arrivals
    from sbdk.progress import DbtProgress
    from sbdk.project import BuildError, DbtProject, find_project_dir

    project_dir = find_project_dir()
    _check_appendable(db)
    _copy_result(db, new)
    engine = DuckDBEngine(new, memory_limit=settings.memory_limit)
    steps: list[AppendedBatch] = []
    try:
        for _ in range(settings.append_days):
            try:
                batch = append_arrivals(new, seed=settings.seed, share=settings.arrival_share)
            except NoArrivalBase as exc:
                raise CliError(f"{db}: {exc}") from None
            raise_if_interrupted()
            project = DbtProject(work_dir_for(db), {"as_of_date": batch.day.isoformat()}, project_dir=project_dir,
                                 threads=settings.threads, target="duckdb",
                                 console_log_level="debug" if settings.debug else "none")
            last_full = _last_full_seconds(engine)
            engine.close()
            since = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
            progress = DbtProgress() if settings.progress else None
            with progress or nullcontext():
                outcome = project.build_file(engine, *(["--full-refresh"] if settings.full_refresh else []),
                                             callbacks=[progress] if progress else [])
            outcome.raise_for_errors()
            users = _users_reprocessed(engine, since)
            _log_build(new, as_of=batch.day.isoformat(), full_refresh=settings.full_refresh,
                       seconds=outcome.seconds, rows_arrived=batch.total_rows, users_reprocessed=users)
            step = AppendedBatch(batch, outcome, users, settings.full_refresh, last_full)
            steps.append(step)
            reporter.appended(step)
        summary = read_summary(engine, outcome.models)
    except BuildError as exc:
        full = disk_full_cause(str(exc))
        raise CliError(f"out of disk space ({full}) during the build: {exc}" if full else str(exc)) from None
    except KeyboardInterrupt:
        raise InterruptedAfterWrite(f"{db} still holds the previous result") from None
    except Exception:
        if interrupted():
            raise InterruptedAfterWrite(f"{db} still holds the previous result") from None
        raise
    finally:
        engine.close()
    return RunResult(db=db, generated=None, outcome=outcome, summary=summary, appended=tuple(steps))


def _with_state(message: str, target: RunTarget) -> str:
    """A failure's message, and what the engine holds when that is not the previous result."""
    note = target.after_failure()
    return f"{message}; {note}" if note else message


def read_summary(engine: Engine, models: Sequence[str], schema: str = MODEL_SCHEMA) -> RunSummary:
    """Rows of every model built, and a short summary of the marts (in ``schema``, a name of
    the package's, unquoted: Spark and PostgreSQL quote differently)."""
    model_rows = [(m, engine.scalar_row(f"select count(*) from {schema}.{m}")[0]) for m in models]
    revenue, orders, buyers = engine.scalar_row(
        "select coalesce(sum(total_revenue), 0), coalesce(sum(total_orders), 0), "
        f"coalesce(sum(case when total_orders > 0 then 1 else 0 end), 0) from {schema}.user_metrics")
    _, stages = engine.query(
        f"select user_lifecycle_stage, count(*) as users from {schema}.user_metrics "
        "group by user_lifecycle_stage order by users desc, user_lifecycle_stage")
    _, dq = engine.query(
        f"select source_table, data_quality_flag, row_count from {schema}.data_quality_summary "
        "order by source_table, case when data_quality_flag = 'valid' then 0 else 1 end, row_count desc, "
        "data_quality_flag")
    return RunSummary(model_rows=model_rows, revenue=revenue, orders=orders, buyers=buyers,
                      stages=[tuple(r) for r in stages], data_quality=[tuple(r) for r in dq])
