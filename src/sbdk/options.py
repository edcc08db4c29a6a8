"""The argument layer of the `sbdk` command: the parser, the value types, the settings of a
command (the database path resolved once) and their checks, and the errors a user can fix."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sbdk import __version__, defaults
from sbdk.engines import DEFAULT_ENGINE, ENGINES

EXIT_ERROR = 1
EXIT_USAGE = 2
MAX_THREADS = 64
DEFAULT_START = date(2025, 1, 1)
DEFAULT_END = date(2025, 12, 31)


class CliError(Exception):
    """A problem the user can fix; printed as one line."""

    exit_code = EXIT_ERROR


class UsageError(CliError):
    """A bad argument or setting (exit 2)."""

    exit_code = EXIT_USAGE


class InterruptedAfterWrite(KeyboardInterrupt):
    """A Ctrl-C that came after the command had written its result: ``where`` says what the
    database holds now (the command line prints it instead of "still holds the previous
    result")."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def first_line(exc: BaseException, default: str | None = None) -> str:
    """The first line of an error's message (else ``default``, else the error's type name)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else (default or type(exc).__name__)


# ---------------------------------------------------------------- value types


#: The dates the generator and the models handle (the generator's own limits).
FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(9000, 12, 31)


def _date(text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    if not FIRST_DATE <= value <= LAST_DATE:
        raise argparse.ArgumentTypeError(f"must be a date from {FIRST_DATE} to {LAST_DATE}, got {text}")
    return value


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


#: The most arrival batches one `sbdk run --append-days` appends.
MAX_APPEND_DAYS = 366


def _days(text: str) -> int:
    return _whole_number(text, 1, MAX_APPEND_DAYS)


def _threads(text: str) -> int:
    return _whole_number(text, 1, MAX_THREADS)


_MEMORY = re.compile(r"[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|%)", re.IGNORECASE)
#: The smallest memory limit a build is given: below it DuckDB fails on the first query.
MIN_MEMORY_LIMIT = "64MiB"
_MIN_MEMORY_BYTES = 64 * 2**20
_UNIT_BYTES = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}


def memory_limit(text: str) -> str:
    """A DuckDB memory limit: a size (3GB, 512MiB; at least `MIN_MEMORY_LIMIT`), a share of the
    machine's memory (1% to 100%), or ``none`` (any case; returned as ``none``, the word
    DuckDB reads as no limit)."""
    value = text.strip()
    if value.lower() == "none":
        return "none"
    if not _MEMORY.fullmatch(value):
        raise argparse.ArgumentTypeError(f"not a memory size such as 3GB, 512MiB or 50% (or none): {text!r}")
    number = float(re.match(r"[0-9.]+", value).group())
    unit = value[len(re.match(r"[0-9.]+\s*", value).group()):].upper()
    if unit == "%":
        if not 0 < number <= 100:
            raise argparse.ArgumentTypeError(f"a share of the memory must be more than 0% and at most 100%, "
                                             f"got {text!r}")
    elif number * _UNIT_BYTES[unit.removesuffix("B")] < _MIN_MEMORY_BYTES:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_MEMORY_LIMIT} (or a share such as 50%, or none), "
                                         f"got {text!r}")
    return value


# ---------------------------------------------------------------- the parser


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line (`sbdk run: error: ...`), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _data_args(p: argparse.ArgumentParser, users_default: int | None, end_help: str) -> None:
    # the defaults of the data options are filled in by `settings_from`: None says "not given",
    # which an appending command (that generates nothing) must be able to tell
    p.add_argument("--users", type=_users, default=None,
                   help="number of users to generate" + (f" (default {users_default:,})" if users_default else ""))
    p.add_argument("--seed", type=_seed, default=42, help="random seed (default 42)")
    p.add_argument("--db", default=None,
                   help=f"DuckDB file (default $SBDK_DUCKDB_PATH, else ./{defaults.DUCKDB_FILE}; ~ is expanded)")
    p.add_argument("--start", type=_date, default=None, help=f"first signup date (default {DEFAULT_START})")
    p.add_argument("--end", type=_date, default=None, help=f"last activity date ({end_help})")
    p.add_argument("--dirty", type=_rate, default=None,
                   help="share of rows with injected data-quality problems, 0-0.5 (default 0)")
    p.add_argument("--no-progress", "--quiet", action="store_true", dest="no_progress",
                   help="no progress output (generation bar, dbt nodes)")
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors (and dbt's log)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sbdk",
        description="Synthetic product-analytics data and the sbdk dbt models on DuckDB.",
    )
    parser.add_argument("--version", action="version", version=f"sbdk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    gen = sub.add_parser("generate", help="write raw_users, raw_events and raw_orders into a DuckDB file")
    _data_args(gen, None, f"default {DEFAULT_END}")
    gen.add_argument("--schema", default="raw", help="schema of the raw tables (default raw)")
    gen.add_argument("--append", action="store_true",
                     help="add the next day's arrival batch to the raw tables in --db (new, late, re-delivered and "
                          "duplicate rows, stamped in _loaded_at) instead of generating them; --seed picks the rows")

    run = sub.add_parser("run", help="generate data, dbt build every model, print a summary")
    _data_args(run, 10_000, f"default --as-of if given, else {DEFAULT_END}")
    run.add_argument("--as-of", type=_date, default=None,
                     help="reference date of the models (default: --end); not before --end")
    run.add_argument("--threads", type=_threads, default=None,
                     help=f"dbt threads, 1-{MAX_THREADS} (default $SBDK_DBT_THREADS, else {defaults.DBT_THREADS})")
    run.add_argument("--memory-limit", type=memory_limit, default=None,
                     help="DuckDB memory limit of the build, e.g. 3GB, 50%% or none (default "
                          f"$SBDK_DUCKDB_MEMORY_LIMIT, else {defaults.DUCKDB_MEMORY_LIMIT.replace('%', '%%')}); "
                          "beyond it DuckDB spills to <db>.tmp beside the file")
    targets = ", ".join(f"{name} ({spec.description}" + (", default)" if name == DEFAULT_ENGINE else ")")
                        for name, spec in ENGINES.items())
    run.add_argument("--target", choices=list(ENGINES), default=DEFAULT_ENGINE,
                     help=f"engine to build on: {targets}; the raw tables are generated into --db and "
                          "bulk-loaded into the engine")
    run.add_argument("--append-days", type=_days, default=0, metavar="N",
                     help="instead of generating: append N daily arrival batches to the result in --db, each "
                          "followed by an incremental dbt build as of its day (DuckDB), and print what each "
                          "changed next to the last full refresh's time")
    run.add_argument("--full-refresh", action="store_true",
                     help="with --append-days: rebuild every model in full after each batch")
    return parser


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class GenerateSettings:
    """What `sbdk generate` writes: the raw tables of ``users`` users into ``db``."""

    db: Path
    users: int
    seed: int = 42
    schema: str = "raw"
    start: date = DEFAULT_START
    end: date = DEFAULT_END
    dirty: float = 0.0
    #: Show the generation bar (on a terminal only).
    progress: bool = False
    #: Append the next day's arrival batch to the raw tables in ``db`` instead (`sbdk.arrivals`).
    append: bool = False


@dataclass(frozen=True)
class RunSettings:
    """What `sbdk run` builds: generated data, the models as of ``as_of``, on ``target``."""

    db: Path
    users: int = 10_000
    seed: int = 42
    start: date = DEFAULT_START
    #: The last activity date and the models' as-of date: each defaults to the other (both to
    #: `DEFAULT_END`), and an as-of date before the end is refused (`run_dates`), here as on
    #: the command line.
    end: date | None = None
    as_of: date | None = None
    dirty: float = 0.0
    threads: int | None = None
    memory_limit: str | None = None
    target: str = DEFAULT_ENGINE
    #: Show the generation bar (on a terminal only) and the dbt nodes.
    progress: bool = False
    #: The Spark state folder ($SBDK_SPARK_DIR, else `sbdk.defaults.spark_dir_for` of the database).
    spark_dir: Path | None = None
    #: Show dbt's own log on stdout (`--debug`).
    debug: bool = False
    #: Append this many daily arrival batches to the result in ``db`` (each followed by an
    #: incremental build) instead of generating a new one; 0: a new result.
    append_days: int = 0
    #: With ``append_days``: build each batch with `--full-refresh`.
    full_refresh: bool = False
    #: With ``append_days``: the share of the users active in a batch (`sbdk.arrivals`).
    arrival_share: float = 0.01

    def __post_init__(self) -> None:
        end, as_of = run_dates(self.end, self.as_of)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "as_of", as_of)


def db_path(text: str | None, source: str = "--db") -> Path:
    """The DuckDB file named by --db or $SBDK_DUCKDB_PATH: ``~`` expanded; empty and
    ``:memory:`` (which would keep nothing) refused."""
    value = (text or "").strip()
    if not value:
        raise UsageError(f"{source} is empty: name a DuckDB file, e.g. {defaults.DUCKDB_FILE}")
    if value.lower().startswith(":memory:"):
        raise UsageError(f"{source} is {value!r}: an in-memory database keeps nothing; name a DuckDB file")
    return Path(value).expanduser()


def resolve_db(given: str | None, env: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """The database of a command: --db, else $SBDK_DUCKDB_PATH, else the default file."""
    env = os.environ if env is None else env
    if given is not None:
        return db_path(given)
    if "SBDK_DUCKDB_PATH" in env:
        return db_path(env["SBDK_DUCKDB_PATH"], "$SBDK_DUCKDB_PATH")
    return Path(defaults.DUCKDB_FILE)


def run_dates(end: date | None, as_of: date | None) -> tuple[date, date]:
    """``(end, as_of)`` of a run: each defaults to the other, both to `DEFAULT_END`; an as-of
    date before the end is refused (the models would flag the clean rows after it)."""
    end = end or as_of or DEFAULT_END
    as_of = as_of or end
    if as_of < end:
        raise UsageError(f"--as-of {as_of} is before --end {end}: clean rows after the as-of date would be "
                         "flagged future_timestamp; give an --as-of on or after --end")
    return end, as_of


def settings_from(args: argparse.Namespace) -> GenerateSettings | RunSettings:
    """The settings of the parsed command line."""
    db = resolve_db(args.db)
    progress = not args.no_progress
    given = [f"--{name.replace('_', '-')}" for name in ("users", "start", "end", "dirty", "as_of")
             if getattr(args, name, None) is not None]
    if args.command == "generate":
        if args.append and given:
            raise UsageError(f"sbdk generate --append adds a day's arrivals to the raw tables in {db}: "
                             f"{given[0]} does not apply")
        if not args.append and args.users is None:
            raise UsageError("sbdk generate needs --users (or --append, to add the next day's arrivals to the raw "
                             "tables in --db)")
        return GenerateSettings(db=db, users=args.users or 0, seed=args.seed, schema=args.schema,
                                start=args.start or DEFAULT_START, end=args.end or DEFAULT_END,
                                dirty=args.dirty or 0.0, progress=progress, append=args.append)
    if args.append_days:
        if given:
            raise UsageError(f"--append-days appends to the result in {db}, as of each batch's day: {given[0]} "
                             "does not apply")
        if args.target != "duckdb":
            raise UsageError(f"--append-days builds incrementally on DuckDB only (--target {args.target} builds a new "
                             "result each run)")
    elif args.full_refresh:
        raise UsageError("--full-refresh goes with --append-days: a run without it always builds a new result "
                         "in full")
    spark_dir = os.environ.get("SBDK_SPARK_DIR")
    return RunSettings(db=db, users=10_000 if args.users is None else args.users, seed=args.seed,
                       start=args.start or DEFAULT_START, end=args.end, as_of=args.as_of,
                       dirty=args.dirty or 0.0, threads=args.threads, memory_limit=args.memory_limit,
                       target=args.target, progress=progress, spark_dir=Path(spark_dir) if spark_dir else None,
                       debug=args.debug, append_days=args.append_days, full_refresh=args.full_refresh)


def check_writable(db: Path) -> None:
    """The name of ``db`` can be used and it is a file or nothing (`sbdk._files.check_path`);
    its folder exists (created if needed) and both can be written."""
    from sbdk._files import check_path

    check_path(db)
    folder = db.parent if str(db.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the folder of --db {db}: {exc.strerror or exc}") from None
    if db.is_dir():
        raise UsageError(f"--db {db} is a folder, not a file")
    if not os.access(folder, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
        raise CliError(f"--db {db} is not writable")
