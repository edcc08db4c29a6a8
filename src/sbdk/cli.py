"""The `sbdk` command: a thin shell over `sbdk.generate` and `sbdk.project`.

    sbdk generate --users N [--seed S] [--db PATH] [--schema raw] [--start DATE] [--end DATE] [--dirty RATE]
    sbdk run [--users N] [--seed S] [--as-of DATE] [--db PATH] [--dirty RATE] [--threads N] [--target ENGINE]

Exit codes: 0 success, 1 a failed command (one line naming what failed), 2 bad usage,
130 interrupted. Never a traceback, unless `--debug`.

A run is one transaction for the user: it holds an exclusive lock on `<db>.lock` from start
to end, builds in a new file beside the database and renames it over the database only when
the build succeeded, so the database always holds one complete result (see `sbdk.runfile`).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path

from sbdk import __version__
from sbdk._signals import install_first_interrupt_handler
from sbdk.contract import TABLE_NAMES
from sbdk.engines import ENGINES, MODEL_SCHEMA, Engine, engine_for
from sbdk.runfile import publish

#: Outside dbt's target/ folder, which `dbt clean` empties.
DEFAULT_DB = "sbdk.duckdb"
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
MAX_THREADS = 64


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


class CliError(Exception):
    """A problem the user can fix; printed as one line."""

    exit_code = EXIT_ERROR


class UsageError(CliError):
    """A bad argument or setting (exit 2)."""

    exit_code = EXIT_USAGE


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _whole_number(text: str, low: int, high: int | None = None) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low:,} and {high:,}" if high is not None else f"{low} or more"
        raise argparse.ArgumentTypeError(f"must be {bound}, got {value:,}")
    return value


def _users(text: str) -> int:
    from sbdk.generate import MAX_USERS

    return _whole_number(text, 0, MAX_USERS)


def _rate(text: str) -> float:
    from sbdk.generate import MAX_DIRTY

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= MAX_DIRTY:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_DIRTY}, got {text}")
    return value


def _seed(text: str) -> int:
    return _whole_number(text, 0)


def _threads(text: str) -> int:
    return _whole_number(text, 1, MAX_THREADS)


_MEMORY = re.compile(r"[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|%)", re.IGNORECASE)


def _memory_limit(text: str) -> str:
    value = text.strip()
    if value.lower() == "none":  # no limit: DuckDB reads only the lower-case word
        return "none"
    if not _MEMORY.fullmatch(value):
        raise argparse.ArgumentTypeError(f"not a memory size such as 3GB, 512MiB or 50%: {text!r}")
    if float(re.match(r"[0-9.]+", value).group()) <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text!r}")
    return value


def db_path(text: str | None, source: str = "--db") -> Path:
    """The DuckDB file named by --db or $SBDK_DUCKDB_PATH: ``~`` expanded; empty and
    ``:memory:`` (which would keep nothing) refused."""
    value = (text or "").strip()
    if not value:
        raise UsageError(f"{source} is empty: name a DuckDB file, e.g. {DEFAULT_DB}")
    if value.lower().startswith(":memory:"):
        raise UsageError(f"{source} is {value!r}: an in-memory database keeps nothing; name a DuckDB file")
    return Path(value).expanduser()


def _db_from(args: argparse.Namespace) -> Path:
    if args.db is not None:
        return db_path(args.db)
    if "SBDK_DUCKDB_PATH" in os.environ:
        return db_path(os.environ["SBDK_DUCKDB_PATH"], "$SBDK_DUCKDB_PATH")
    return Path(DEFAULT_DB)


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line (`sbdk run: error: ...`), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sbdk",
        description="Synthetic product-analytics data and the sbdk dbt models on DuckDB.",
    )
    parser.add_argument("--version", action="version", version=f"sbdk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def data_args(p: argparse.ArgumentParser, users_default: int | None) -> None:
        p.add_argument("--users", type=_users, default=users_default, required=users_default is None,
                       help="number of users to generate" + (f" (default {users_default:,})" if users_default else ""))
        p.add_argument("--seed", type=_seed, default=42, help="random seed (default 42)")
        p.add_argument("--db", default=None,
                       help=f"DuckDB file (default $SBDK_DUCKDB_PATH, else ./{DEFAULT_DB}; ~ is expanded)")
        p.add_argument("--start", type=_date, default=date(2025, 1, 1), help="first signup date (default 2025-01-01)")
        p.add_argument("--end", type=_date, default=date(2025, 12, 31), help="last activity date (default 2025-12-31)")
        p.add_argument("--dirty", type=_rate, default=0.0,
                       help="share of rows with injected data-quality problems, 0-0.5 (default 0)")
        p.add_argument("--no-progress", "--quiet", action="store_true", dest="no_progress",
                       help="no progress output (generation bar, dbt nodes)")
        p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")

    gen = sub.add_parser("generate", help="write raw_users, raw_events and raw_orders into a DuckDB file")
    data_args(gen, None)
    gen.add_argument("--schema", default="raw", help="schema of the raw tables (default raw)")

    run = sub.add_parser("run", help="generate data, dbt build every model, print a summary")
    data_args(run, 10_000)
    run.add_argument("--as-of", type=_date, default=None,
                     help="reference date of the models (default: --end)")
    run.add_argument("--threads", type=_threads, default=None,
                     help=f"dbt threads, 1-{MAX_THREADS} (default $SBDK_DBT_THREADS, else 2)")
    run.add_argument("--memory-limit", type=_memory_limit, default=None,
                     help="DuckDB memory limit of the build, e.g. 3GB or 50%% (default $SBDK_DUCKDB_MEMORY_LIMIT, "
                          "else 50%%); beyond it DuckDB spills to <db>.tmp beside the file")
    run.add_argument("--target", choices=ENGINES, default="duckdb",
                     help="engine to build on: duckdb (the --db file itself, default), postgres (the server of "
                          "$SBDK_PG_* / $PG*) or spark (local mode, state under $SBDK_SPARK_DIR); the raw "
                          "tables are generated into --db and bulk-loaded into the engine")
    return parser


def _check_writable(db: Path) -> None:
    folder = db.parent if str(db.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the folder of --db {db}: {exc.strerror or exc}") from None
    if db.is_dir():
        raise UsageError(f"--db {db} is a folder, not a file")
    if not os.access(folder, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
        raise CliError(f"--db {db} is not writable")


def _duckdb_error(exc: Exception, db: Path) -> CliError:
    text = str(exc)
    if "lock" in text.lower():
        return CliError(f"the DuckDB file {db} is in use by another process; close it and retry")
    return CliError(f"DuckDB could not use {db}: {text.splitlines()[0] if text else type(exc).__name__}")


@contextmanager
def _locked(db: Path) -> Iterator[None]:
    """Hold the run lock of ``db`` (one line naming the holder when another command has it)."""
    from sbdk.runfile import LockBusy, RunLock

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


def cmd_generate(args: argparse.Namespace) -> int:
    import duckdb

    from sbdk._expected import expected_flags_for_file
    from sbdk.generate import drop_leftover_tmp_tables, generate

    db = _db_from(args)
    _check_writable(db)
    with _locked(db):
        try:
            drop_leftover_tmp_tables(db)
            result = generate(args.users, db_path=db, seed=args.seed, schema=args.schema,
                              start=args.start, end=args.end, dirty=args.dirty,
                              progress=not args.no_progress and sys.stderr.isatty())
            # the flags the contract assigns to the rows written, as of --end
            expected = expected_flags_for_file(db, args.schema, args.end) if result.injected else {}
        except ValueError as exc:
            raise CliError(str(exc)) from None
        except duckdb.Error as exc:
            raise _duckdb_error(exc, db) from None
    rate = result.total_rows / result.seconds if result.seconds else 0
    print(f"wrote {result.total_rows:,} raw rows to {db} (schema {args.schema}) "
          f"in {result.seconds:.1f} s ({rate / 1e6:.2f} M rows/s)")
    _print_table(["table", "rows"], [[t, f"{n:,}"] for t, n in result.row_counts.items()])
    if result.injected:
        print("\ninjected data-quality cases:")
        rows = [[t, case, f"{n:,}"] for t, cases in result.injected.items() for case, n in cases.items()]
        _print_table(["table", "case", "rows"], rows)
        print("\nexpected flags:")
        rows = [[t, flag, f"{n:,}"] for t, flags in expected.items() for flag, n in flags.items()]
        _print_table(["table", "flag", "rows"], rows)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Generate, build and summarise in a new file; publish it over --db only on success."""
    from sbdk.runfile import new_file_for, remove_file, remove_leftovers

    db = _db_from(args).resolve()
    _check_writable(db)
    with _locked(db):
        remove_leftovers(db)
        new = new_file_for(db)
        remove_file(new)
        try:
            _generate_and_build(args, new, work_dir=db.with_name(db.stem + ".dbt"),
                                spark_dir=Path(os.environ.get("SBDK_SPARK_DIR", db.with_name(db.stem + ".spark"))))
            publish(new, db)
        finally:
            remove_file(new)
    print(f"\n{db} now holds this result")
    return 0


def _generate_and_build(args: argparse.Namespace, new: Path, work_dir: Path, spark_dir: Path) -> None:
    """Generate into ``new``, build on the target engine and print the summary."""
    import duckdb

    from sbdk.generate import generate
    from sbdk.progress import DbtProgress
    from sbdk.project import BuildError, DbtProject, find_project_dir

    as_of = args.as_of or args.end
    project_dir = find_project_dir()  # before anything is written
    try:
        gen = generate(args.users, db_path=new, seed=args.seed, start=args.start, end=args.end,
                       dirty=args.dirty, progress=not args.no_progress and sys.stderr.isatty())
    except ValueError as exc:
        raise CliError(str(exc)) from None
    except duckdb.Error as exc:
        raise _duckdb_error(exc, new) from None
    print(f"generated {gen.total_rows:,} raw rows in {gen.seconds:.1f} s", flush=True)

    engine = engine_for(args.target, duckdb_path=new, spark_dir=spark_dir, memory_limit=args.memory_limit)
    try:
        if args.target != "duckdb":
            engine.load_duckdb_tables(new, TABLE_NAMES)
            print(f"loaded the raw tables into {args.target}", flush=True)
        project = DbtProject(work_dir, {"as_of_date": as_of.isoformat()},
                             project_dir=project_dir, threads=args.threads, target=args.target)
        callbacks = [] if args.no_progress else [DbtProgress()]
        with callbacks[0] if callbacks else nullcontext():
            outcome = project.build_file(engine, callbacks=callbacks)
        print(f"dbt build: {outcome.passed} passed, {len(outcome.warnings)} warnings, "
              f"{len(outcome.errors)} errors, {len(outcome.skipped)} skipped in {outcome.seconds:.1f} s "
              f"(target {args.target}, as_of_date {as_of})")
        for warning in outcome.warnings:
            print(f"  warn: {warning}")
        outcome.raise_for_errors()
        print()
        print_summary(engine, outcome.models)
    except BuildError as exc:
        raise CliError(str(exc)) from None
    except _engine_errors() as exc:
        text = str(exc).strip()
        raise CliError(f"{args.target}: {text.splitlines()[0] if text else type(exc).__name__}") from None
    finally:
        engine.close()


def print_summary(engine: Engine, models: Sequence[str]) -> None:
    """Rows of every model built, and a short summary of the marts, read the same way on every engine."""
    counts = [[m, f"{engine.scalar_row(f'select count(*) from {MODEL_SCHEMA}.{m}')[0]:,}"] for m in models]
    print("rows per model")
    _print_table(["model", "rows"], counts)

    revenue, orders, buyers = engine.scalar_row(
        "select coalesce(sum(total_revenue), 0), coalesce(sum(total_orders), 0), "
        f"coalesce(sum(case when total_orders > 0 then 1 else 0 end), 0) from {MODEL_SCHEMA}.user_metrics")
    print(f"\nrevenue {revenue:,.2f} from {orders:,} valid orders by {buyers:,} buyers")

    _, stages = engine.query(
        f"select user_lifecycle_stage, count(*) as users from {MODEL_SCHEMA}.user_metrics "
        "group by user_lifecycle_stage order by users desc, user_lifecycle_stage")
    print("\nusers by lifecycle stage")
    _print_table(["stage", "users"], [[s, f"{n:,}"] for s, n in stages])

    _, dq = engine.query(
        f"select source_table, data_quality_flag, row_count from {MODEL_SCHEMA}.data_quality_summary "
        "order by source_table, case when data_quality_flag = 'valid' then 0 else 1 end, row_count desc, "
        "data_quality_flag")
    print("\ndata quality")
    _print_table(["raw table", "flag", "rows"], [[t, f, f"{n:,}"] for t, f, n in dq])


def _print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [list(map(str, header))] + [list(map(str, r)) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if c[:1].isdigit() or c[:1] == "-" else c.ljust(w)
                         for c, w in zip(r, widths, strict=True)).rstrip()

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for r in cells[1:]:
        print(line(r))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    install_first_interrupt_handler()
    # dbt logs to a file; when the disk is full, every log call would print a
    # "--- Logging error ---" block: the command's own error line says it once
    logging.raiseExceptions = False
    db = None
    try:
        db = _db_from(args)
        if args.command == "generate":
            return cmd_generate(args)
        return cmd_run(args)
    except CliError as exc:
        print(f"sbdk: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        # Python's shutdown restores the default handler: one more Ctrl-C then would turn
        # exit 130 into a death by signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        where = f"{db} still holds the previous result" if db is not None else "nothing was written"
        print(f"sbdk: interrupted; {where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if args.debug:
            raise
        print(f"sbdk: error: unexpected {type(exc).__name__}: {_first_line(exc)} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_ERROR


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
