"""Every setting of a command checked before anything is written.

The flags are checked by their argparse types (`sbdk.options`); this module checks what the
types cannot see, for the command line and for in-process settings alike: the dates against
each other, the database path (a local file, not a FIFO or a device, not a MotherDuck or
remote name), and the ``SBDK_*`` environment variables the profile (``profiles.yml``) and the
engines read for the target being built. A bad value is a `sbdk.options.UsageError` (exit 2)
naming the flag or the variable and the values it accepts.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

from sbdk.options import (
    FIRST_DATE,
    LAST_DATE,
    MAX_THREADS,
    MIN_MEMORY_LIMIT,
    GenerateSettings,
    RunSettings,
    UsageError,
    memory_limit,
)

__all__ = ["check_generate_settings", "check_run_settings"]

#: A name DuckDB reads as something other than a local file: ``md:`` / ``motherduck:``
#: (MotherDuck, which DuckDB would download an extension for) or a URL (``s3://``, ``https://``;
#: a `Path` keeps one slash of the two, and DuckDB still reads ``s3:/...`` as remote).
_REMOTE = re.compile(r"^(md|motherduck):|^[A-Za-z][A-Za-z0-9+.-]+:/", re.IGNORECASE)

_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _check_value(source: str, value: object, parse: Callable[[str], object], accepted: str) -> None:
    try:
        parse(str(value))
    except (argparse.ArgumentTypeError, ValueError):
        shown = f"={value}" if source.startswith("$") else f" {value}"
        raise UsageError(f"{source}{shown} is not valid: {accepted}") from None


def _threads(text: str) -> int:
    value = int(text.strip().replace("_", ""))
    if not 1 <= value <= MAX_THREADS:
        raise ValueError(f"{value} is out of range")
    return value


def _port(text: str) -> int:
    value = int(text.strip())
    if not 1 <= value <= 65535:
        raise ValueError(f"{value} is out of range")
    return value


def _positive(text: str) -> int:
    value = int(text.strip())
    if value < 1:
        raise ValueError(f"{value} is less than 1")
    return value


def _jvm_memory(text: str) -> str:
    if not re.fullmatch(r"[0-9]+[kmgt]?", text.strip(), re.IGNORECASE) or not int(re.match(r"[0-9]+", text)[0]):
        raise ValueError("not a JVM memory size")
    return text


_MEMORY_ACCEPTED = (f"a size of at least {MIN_MEMORY_LIMIT} such as 3GB or 512MiB, a share of the memory up to "
                    "100% such as 50%, or none")


def check_db(db: Path, source: str = "--db") -> None:
    """``db`` names a local file that is a file (or nothing yet), not a FIFO, a device or a
    socket (DuckDB would block on a FIFO forever, or replace a device), nor a remote name."""
    if _REMOTE.match(str(db)):
        raise UsageError(f"{source} {db} is not a local file: DuckDB reads it as a remote (MotherDuck or URL) "
                         f"database; sbdk works on local DuckDB files only (write ./{db} for a local file "
                         "of that name)")
    try:
        mode = os.stat(db).st_mode
    except OSError:
        return  # nothing there yet (or unreachable: the write check says so)
    for is_kind, kind in _FILE_KINDS:
        if is_kind(mode):
            raise UsageError(f"{source} {db} is {kind}, not a DuckDB file")


def _check_dates(start: object, end: object) -> None:
    for flag, value in (("--start", start), ("--end", end)):
        if not FIRST_DATE <= value <= LAST_DATE:
            raise UsageError(f"{flag} {value} is not valid: give a date from {FIRST_DATE} to {LAST_DATE}")
    if start > end:
        raise UsageError(f"--start {start} is after --end {end}: the first signup date must not be after the "
                         "last activity date")


def check_generate_settings(settings: GenerateSettings) -> None:
    """The settings of `sbdk generate`, before anything is written."""
    check_db(settings.db)
    _check_dates(settings.start, settings.end)
    if not settings.schema.strip():
        raise UsageError("--schema is empty: name the schema of the raw tables, e.g. raw")


def check_run_settings(settings: RunSettings, env: Mapping[str, str] | None = None) -> None:
    """The settings of `sbdk run` and the environment variables its target reads, before
    anything is written (``env``: the environment, ``os.environ`` by default)."""
    from sbdk.engines import ENGINES
    from sbdk.project import BuildError, find_project_dir

    env = os.environ if env is None else env
    check_db(settings.db)
    _check_dates(settings.start, settings.end)
    if settings.as_of is not None and not FIRST_DATE <= settings.as_of <= LAST_DATE:
        raise UsageError(f"--as-of {settings.as_of} is not valid: give a date from {FIRST_DATE} to {LAST_DATE}")
    if settings.target not in ENGINES:
        raise UsageError(f"--target {settings.target!r} is not valid: choose one of {', '.join(ENGINES)}")
    target = settings.target
    threads_accepted = f"dbt threads, a whole number from 1 to {MAX_THREADS}"
    if settings.threads is not None:
        _check_value("--threads", settings.threads, _threads, threads_accepted)
    elif target != "spark" and env.get("SBDK_DBT_THREADS") is not None:  # the profile reads it
        _check_value("$SBDK_DBT_THREADS", env["SBDK_DBT_THREADS"], _threads, threads_accepted)
    if target == "duckdb":
        if settings.memory_limit is not None:
            _check_value("--memory-limit", settings.memory_limit, memory_limit, _MEMORY_ACCEPTED)
        elif env.get("SBDK_DUCKDB_MEMORY_LIMIT") is not None:
            _check_value("$SBDK_DUCKDB_MEMORY_LIMIT", env["SBDK_DUCKDB_MEMORY_LIMIT"], memory_limit,
                         _MEMORY_ACCEPTED)
    elif target == "postgres":
        _check_postgres(env)
    elif target == "spark":
        if env.get("SBDK_SPARK_SHUFFLE_PARTITIONS") is not None:
            _check_value("$SBDK_SPARK_SHUFFLE_PARTITIONS", env["SBDK_SPARK_SHUFFLE_PARTITIONS"], _positive,
                         "a whole number of 1 or more")
        if env.get("SBDK_SPARK_DRIVER_MEMORY") is not None:
            _check_value("$SBDK_SPARK_DRIVER_MEMORY", env["SBDK_SPARK_DRIVER_MEMORY"], _jvm_memory,
                         "a JVM memory size such as 2g or 512m")
    try:
        find_project_dir()
    except BuildError as exc:
        raise UsageError(str(exc)) from None


def _check_postgres(env: Mapping[str, str]) -> None:
    """The port the PostgreSQL engine will use (``SBDK_PG_PORT``, else ``PGPORT``), and a
    non-blank host, user and database. The password is never shown."""
    for name, fallback in (("PORT", "PGPORT"), ("HOST", "PGHOST"), ("USER", "PGUSER"),
                           ("DATABASE", "PGDATABASE")):
        source = next((var for var in (f"SBDK_PG_{name}", fallback) if env.get(var)), None)
        if source is None:
            continue  # the default
        if name == "PORT":
            _check_value(f"${source}", env[source], _port, "a TCP port, a whole number from 1 to 65535")
        elif not env[source].strip():
            raise UsageError(f"${source} is blank: name the PostgreSQL {name.lower()}")
