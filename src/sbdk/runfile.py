"""One run at a time per DuckDB file, and a file that holds one complete result.

* ``RunLock(db)``: an exclusive lock for the life of a command, taken before anything is
  written, on the file rather than on the name it was given: on ``<db>.lock`` beside the
  database's real path (symbolic links resolved) and, when the database exists, on the
  database file itself (its inode: a hard link is the same file). The kernel releases both
  when the process ends, even on ``kill -9``, so a lock is never stale. A second command on the
  same file fails at once with one line naming the holder's pid. The lock file is private
  (0600), opened without following a symbolic link, refused when it is another user's or not
  a lock file, and removed when the command ends.
* ``BuildDir(db)``: where a run builds its new result: a private folder beside ``db``
  (``tempfile.mkdtemp``: mode 0700, created exclusively, a name no one can guess), so no one
  can plant or swap the new file, and the final rename stays on one file system. The run holds
  a lock on ``run.lock`` inside for its whole life: that is how the next command knows the
  folder's run is dead.
* ``publish(new, db)`` renames the finished file over ``db`` in one atomic step, only after the
  build succeeded, with the previous file's permission bits, group (and owner, when run as
  root), and never while another process holds ``db`` (DuckDB's own lock) or over a write-ahead
  log of a writer. Until then ``db`` is untouched: it holds the complete previous result.
* ``remove_leftovers(db)``: the build folders of dead runs on ``db`` (this user's only),
  removed by the next run that takes the lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from types import TracebackType

from sbdk._signals import ignore_interrupts

#: The new file's name inside its build folder (letters and underscores: DuckDB names the
#: catalog after the file's stem).
NEW_FILE = "sbdk_new.duckdb"
#: The file in a build folder whose lock says its run is alive.
RUN_MARK = "run.lock"
_OPEN_EXISTING = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class LockBusy(RuntimeError):
    """Another sbdk command holds the file."""


def flock_or_busy(fd: int, what: str) -> None:
    """An exclusive, non-blocking ``flock`` on ``fd``, or `LockBusy` naming ``what`` and the
    holder's pid (which the holder writes into the file)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
        raise LockBusy(f"{what} is in use by another sbdk command (pid {holder}); wait for it to finish") from None


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


class RunLock:
    """Exclusive, non-blocking lock on ``<db>.lock`` and on the database file for the life of
    a command (``db`` as given is named in messages; the lock is on its real path)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.real = Path(os.path.realpath(db))
        self.path = lock_path(self.real)
        self._fd: int | None = None
        #: the database file (when it existed), its inode locked
        self._db_fd: int | None = None

    def __enter__(self) -> RunLock:
        fd = self._lock_file()
        try:
            self._db_fd = self._lock_database()
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            self._release(fd)
            raise
        self._fd = fd
        return self

    def _lock_file(self) -> int:
        """The lock file, created 0600 or checked, with its lock held."""
        from sbdk._files import refuse_foreign
        from sbdk.options import UsageError

        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _OPEN_EXISTING, 0o600)
            except OSError:
                if os.path.islink(self.path):
                    raise UsageError(f"the lock file {self.path} is a symbolic link; not following it: "
                                     "remove it") from None
                if os.path.exists(self.path):
                    refuse_foreign(self.path, os.lstat(self.path), "the lock file")
                raise
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                    raise UsageError(f"{self.path} is not a lock file of sbdk's (it is another file or has other "
                                     "names); not using it: remove it")
                refuse_foreign(self.path, st, "the lock file")
                flock_or_busy(fd, str(self.db))
                # the holder that just ended removed the file: lock the one now in its place
                if not _same_file(self.path, st):
                    os.close(fd)
                    continue
                if not re.fullmatch(rb"[0-9]*\n?", os.pread(fd, 64, 0)) or st.st_size > 64:
                    raise UsageError(f"{self.path} is not a lock file of sbdk's; not using it: remove it")
                if stat.S_IMODE(st.st_mode) != 0o600:
                    os.fchmod(fd, 0o600)
                return fd
            except BaseException:
                os.close(fd)
                raise

    def _lock_database(self) -> int | None:
        """The database file's own lock (a command through another name of it holds it too)."""
        try:
            if not stat.S_ISREG(os.lstat(self.real).st_mode):
                return None  # nothing to lock (what is not a file is refused by the command's checks)
            fd = os.open(self.real, os.O_RDONLY | _OPEN_EXISTING)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockBusy(f"{self.db} is in use by another sbdk command (through another name of the same file); "
                           "wait for it to finish") from None
        return fd

    def _release(self, fd: int | None) -> None:
        if self._db_fd is not None:
            os.close(self._db_fd)
            self._db_fd = None
        if fd is not None:
            # removed while locked (a command that opened it meanwhile sees it gone and retries)
            try:
                if _same_file(self.path, os.fstat(fd)):
                    os.unlink(self.path)
            except OSError:
                pass
            os.close(fd)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        fd, self._fd = self._fd, None
        self._release(fd)


def _same_file(path: Path, st: os.stat_result) -> bool:
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)


def _build_prefix(db: Path) -> str:
    """The start of the build folders' names of ``db`` (short whatever the name's length;
    the digest of the whole name keeps ``x.duckdb`` and ``x.db`` apart)."""
    stem = re.sub(r"[^A-Za-z0-9_]", "_", db.stem)[:40] or "sbdk"
    digest = hashlib.sha256(os.fsencode(db.name)).hexdigest()[:12]
    return f".{stem}_sbdk_new_{digest}_"


class BuildDir:
    """The private folder a run builds its new file in (see the module's docstring)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.path: Path | None = None
        self._fd: int | None = None

    @property
    def new(self) -> Path:
        """The new file (DuckDB adds its ``.wal`` and ``.tmp`` beside it, in the folder)."""
        assert self.path is not None
        return self.path / NEW_FILE

    def __enter__(self) -> BuildDir:
        self.path = Path(tempfile.mkdtemp(prefix=_build_prefix(self.db), dir=self.db.parent))
        try:
            self._fd = os.open(self.path / RUN_MARK, os.O_RDWR | os.O_CREAT | os.O_EXCL | _OPEN_EXISTING, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _run_alive(folder: Path) -> bool:
    """Whether the run that made the build folder ``folder`` still holds its lock."""
    try:
        fd = os.open(folder / RUN_MARK, os.O_RDONLY | _OPEN_EXISTING)
    except FileNotFoundError:
        # killed between making the folder and its mark: dead, since the caller holds the
        # database's lock and so no other run on it is making one now
        return False
    except OSError:
        return True  # not what a run makes: left alone
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def remove_leftovers(db: Path) -> list[Path]:
    """Remove the build folders of dead runs on ``db`` (call with the lock held); returns
    them. Only this user's folders (not symbolic links) whose ``run.lock`` no one holds."""
    removed = []
    prefix = _build_prefix(db)
    with os.scandir(db.parent) as entries:
        candidates = [Path(e.path) for e in entries if e.name.startswith(prefix)]
    for item in candidates:
        try:
            st = os.lstat(item)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or _run_alive(item):
            continue
        shutil.rmtree(item, ignore_errors=True)
        removed.append(item)
    return removed


def publish(new: Path, db: Path) -> None:
    """Put the finished ``new`` file in place of ``db`` in one atomic rename.

    ``new`` must be closed (DuckDB checkpoints on close, so it has no write-ahead log). It gets
    the permission bits and the group of the previous ``db`` (the group only where this user
    may set it), and its owner too when run as root. A write-ahead log of ``db`` left by a
    crashed writer belongs to the old file and would be replayed onto the new one: it is folded
    into the old file first, by opening it. A process that holds ``db`` (DuckDB's lock) stops
    the publish with one line: its writes would be lost, or its log would break the new file.
    """
    from sbdk.options import CliError

    st = os.lstat(new)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink != 1:
        raise RuntimeError(f"{new} is not the file this run built; not publishing it")
    leftover_wal = new.with_name(new.name + ".wal")
    if leftover_wal.exists():
        raise RuntimeError(f"{new} was not closed cleanly; not publishing it")
    busy = f"the DuckDB file {db} is in use by another process; the new result was not published: close it and retry"
    wal = db.with_name(db.name + ".wal")
    if os.path.lexists(wal):
        import duckdb

        try:
            duckdb.connect(str(db)).close()  # replays and checkpoints the log
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise CliError(busy) from None
            raise
        wal.unlink(missing_ok=True)
    try:
        fd = os.open(db, os.O_RDONLY | _OPEN_EXISTING)
    except FileNotFoundError:
        fd = None
    try:
        if fd is not None:
            old = os.fstat(fd)
            # DuckDB's own lock, held until the rename: no DuckDB process can open the old
            # file for writing meanwhile (readers can; they keep reading the old file)
            try:
                fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                raise CliError(busy) from None
            if os.path.lexists(wal):
                raise CliError(busy)
            _keep_identity(old, new)
        # the commit point: a Ctrl-C from here on would call the new result the previous one
        ignore_interrupts()
        os.replace(new, db)
    finally:
        if fd is not None:
            os.close(fd)
    # the folder entry too, so the rename survives a power cut
    dir_fd = os.open(db.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _keep_identity(old: os.stat_result, new: Path) -> None:
    """The previous file's permission bits, group and (as root) owner on ``new``."""
    uid = old.st_uid if os.geteuid() == 0 else -1
    try:
        os.chown(new, uid, old.st_gid, follow_symlinks=False)
    except PermissionError:
        pass  # not a member of that group: the new file has this user's group
    os.chmod(new, stat.S_IMODE(old.st_mode) & 0o777)  # after chown, which may clear set-id bits
