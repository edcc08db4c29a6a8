"""The database file and the files beside it, checked before a command trusts them.

A command may run in a folder other users can write to (a team folder, ``/tmp``). What it
creates or reuses beside the database (``<name>.lock``, the run's build folder, the work
folder ``<name>.dbt``, DuckDB's ``<name>.wal`` and ``<name>.tmp``) is refused with one line
when it is a symbolic link, not what it should be, or belongs to another user; what it creates
is private (0600 files, 0700 folders). The checks here say "no" (`UsageError`, exit 2, or
`CliError` when another process holds the file); making the files is `sbdk.runfile`'s job.

* `check_path`: the database's name can be used (UTF-8, short enough for every name derived
  from it) and it is a regular file or nothing, for both commands.
* `check_replaceable`: what ``sbdk run`` may replace: nothing, an empty file, or an sbdk
  result (a DuckDB file with the raw tables in schema ``raw``) that no other process holds.
* `work_dir_for` / `prepare_work_dir`: dbt's work folder of a run, made or checked.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sbdk.contract import TABLE_NAMES
from sbdk.options import CliError, UsageError

#: The longest suffix sbdk puts after the database's name (``<name>.lock``; the work folder
#: is ``<name>.dbt``, DuckDB's files ``<name>.wal`` and ``<name>.tmp``).
LONGEST_SUFFIX = ".lock"
#: Bytes 8-11 of every DuckDB file.
DUCKDB_MAGIC = b"DUCK"


def owner_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a regular file"


def refuse_foreign(path: Path, st: os.stat_result, what: str) -> None:
    """One line when ``path`` (``st``: its lstat) belongs to another user."""
    if st.st_uid != os.geteuid():
        raise UsageError(f"{what} {path} belongs to {owner_name(st.st_uid)}, not to {owner_name(os.geteuid())} "
                         "who runs sbdk; not using it (remove it if it is yours to remove)")


def check_path(db: Path) -> None:
    """The name of ``db`` is valid UTF-8 (DuckDB's paths are), leaves room for the suffixes
    sbdk adds, and ``db`` is a regular file or nothing; ``<db>.wal`` and ``<db>.tmp`` beside it
    are not symbolic links or another user's."""
    full = Path(os.path.abspath(db))
    try:
        str(full).encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"--db {str(db)!r}: the path is not valid UTF-8, which DuckDB cannot open; "
                         "rename the file or folder") from None
    size, most = len(os.fsencode(full.name)), _name_max(full.parent) - len(LONGEST_SUFFIX)
    if size > most:
        raise UsageError(f"--db {db}: the file name is {size} bytes, at most {most} are possible "
                         f"(sbdk writes <name>{LONGEST_SUFFIX} beside it)")
    if len(os.fsencode(str(full))) + len(LONGEST_SUFFIX) >= os.pathconf("/", "PC_PATH_MAX"):
        raise UsageError(f"--db {db}: the path is too long")
    try:
        st = os.stat(full)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise CliError(f"cannot use --db {db}: {exc.strerror or exc}") from None
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"--db {db} is {_kind(st.st_mode)}, not a DuckDB file")
    for suffix in (".wal", ".tmp"):
        beside = full.with_name(full.name + suffix)
        try:
            bst = os.lstat(beside)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(bst.st_mode):
            raise UsageError(f"{beside} is a symbolic link; DuckDB would write through it: remove it")
        refuse_foreign(beside, bst, "DuckDB's file")


def _name_max(folder: Path) -> int:
    while True:
        try:
            return os.pathconf(folder, "PC_NAME_MAX")
        except FileNotFoundError:
            if folder.parent == folder:
                return 255
            folder = folder.parent  # made later: the nearest existing folder's file system
        except OSError:
            return 255


def check_replaceable(db: Path) -> None:
    """``sbdk run`` replaces only its own kind of file: refuse (exit 2) anything but nothing,
    an empty file, or a DuckDB file with sbdk's raw tables in schema ``raw``; refuse (exit 1)
    a file another process holds open for writing (DuckDB's own lock), whose writes would be
    lost. Reads the file, never writes it."""
    try:
        st = os.lstat(db)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"--db {db} is {_kind(st.st_mode)}, not a DuckDB file; sbdk run replaces only its own "
                         "result: name another file")
    if st.st_size == 0:
        return
    fd = os.open(db, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        header = os.pread(fd, 12, 0)
    finally:
        os.close(fd)
    if header[8:12] != DUCKDB_MAGIC:
        raise UsageError(f"--db {db} is not a DuckDB file; sbdk run replaces only its own result (a DuckDB file "
                         "with the raw tables in schema raw): name another file")
    import duckdb

    from sbdk._duckfile import connect_file

    try:
        with connect_file(db, read_only=True) as conn:
            found = {name for (name,) in conn.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = current_database() and table_schema = 'raw'").fetchall()}
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            raise CliError(f"the DuckDB file {db} is in use by another process; close it and retry") from None
        raise UsageError(f"--db {db}: DuckDB cannot read it ({str(exc).strip().splitlines()[0]}); sbdk run "
                         "replaces only its own result: name another file") from None
    missing = [t for t in TABLE_NAMES if t not in found]
    if missing:
        raise UsageError(f"--db {db} is a DuckDB file without sbdk's raw tables (no raw.{', raw.'.join(missing)}); "
                         "sbdk run replaces only its own result: name another file")


def work_dir_for(db: Path) -> Path:
    """dbt's work folder of a run on ``db``: ``<name>.dbt`` beside it (from the whole file
    name, so ``x.duckdb`` and ``x.db`` have their own, and ``--db x.dbt`` is not its own
    work folder)."""
    return db.with_name(db.name + ".dbt")


def private_folder(path: Path, what: str) -> None:
    """``path`` exists as a folder of this user that no one else can write to: made 0700
    when missing (never through a symbolic link), refused when it is anything else."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{what} {path} is {_kind(st.st_mode)}, not a folder; not using it")
    refuse_foreign(path, st, what)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UsageError(f"{what} {path} can be written by other users (mode {stat.S_IMODE(st.st_mode):04o}); "
                         f"not using it: chmod go-w it, or remove it")


def prepare_work_dir(work: Path) -> None:
    """dbt's work folder, its ``logs`` and ``target``: private folders of this user, and
    nothing in them a symbolic link or another user's (dbt would write its log through a
    link, and reads its parse cache, ``target/partial_parse.msgpack``, from there)."""
    what = "dbt's work folder"
    private_folder(work, what)
    for sub in ("logs", "target"):
        private_folder(work / sub, what)
    for folder, dirs, files in os.walk(work):
        for name in dirs + files:
            path = Path(folder) / name
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                raise UsageError(f"{what} holds a symbolic link, {path}; not using the folder: remove it")
            if st.st_uid != os.geteuid():
                raise UsageError(f"{what} holds {path}, which belongs to {owner_name(st.st_uid)}, not to "
                                 f"{owner_name(os.geteuid())} who runs sbdk; not using the folder: remove it")
