"""One run at a time per DuckDB file, and a file that holds one complete result.

* ``RunLock(db)``: an exclusive lock on ``<db>.lock`` beside the database, taken before anything
  is written and held for the whole command. The kernel releases it when the process ends, even
  on ``kill -9``, so a lock is never stale. A second command on the same file fails at once
  with one line naming the holder's pid.
* ``new_file_for(db)``: the file a run builds in (beside ``db``, so the final rename stays on one
  file system); ``publish(new, db)`` renames it over ``db`` in one atomic step, only after the
  build succeeded. Until then ``db`` is untouched: it holds the complete previous result.
* ``remove_leftovers(db)``: what a killed run left (its unfinished new file, the generator's
  temporary tables), removed by the next command that takes the lock.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from pathlib import Path
from types import TracebackType

from sbdk._signals import ignore_interrupts

#: Marks the file a run builds in: ``<stem>_sbdk_new_<pid>.duckdb`` (letters, digits and
#: underscores only: DuckDB names the catalog after the file's stem).
_NEW_FILE = re.compile(r"^(?P<stem>.+)_sbdk_new_(?P<pid>[0-9]+)\.duckdb(\.wal|\.tmp)?$")


class LockBusy(RuntimeError):
    """Another sbdk command holds the file."""


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


class RunLock:
    """Exclusive, non-blocking lock on ``<db>.lock`` for the life of a command."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.path = lock_path(db)
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockBusy(
                f"{self.db} is in use by another sbdk command (pid {holder}); wait for it to finish"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            # the lock file stays (removing it would race with a waiting command); emptied
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def new_file_for(db: Path) -> Path:
    """The file this process builds a new result in, beside ``db``."""
    stem = re.sub(r"[^A-Za-z0-9_]", "_", db.stem) or "sbdk"
    return db.with_name(f"{stem}_sbdk_new_{os.getpid()}.duckdb")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_file(path: Path) -> None:
    """A DuckDB file, its write-ahead log and its spill folder, if present."""
    for item in (path, path.with_name(path.name + ".wal")):
        item.unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.name + ".tmp"), ignore_errors=True)


def remove_leftovers(db: Path) -> list[Path]:
    """Remove the new files of runs that died (call with the lock held); returns them."""
    removed = []
    stem = re.sub(r"[^A-Za-z0-9_]", "_", db.stem) or "sbdk"
    for item in db.parent.glob(f"{stem}_sbdk_new_*.duckdb*"):
        match = _NEW_FILE.match(item.name)
        if match and int(match["pid"]) != os.getpid() and not _pid_alive(int(match["pid"])):
            if item.is_dir():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)
            removed.append(item)
    return removed


def publish(new: Path, db: Path) -> None:
    """Put the finished ``new`` file in place of ``db`` in one atomic rename.

    ``new`` must be closed (DuckDB checkpoints on close, so it has no write-ahead log). A
    write-ahead log of ``db`` left by a crashed writer belongs to the old file and would be
    replayed onto the new one: it is folded into the old file first, by opening it.
    """
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        import duckdb

        duckdb.connect(str(db)).close()  # replays and checkpoints the log
        wal.unlink(missing_ok=True)
    leftover_wal = new.with_name(new.name + ".wal")
    if leftover_wal.exists():
        raise RuntimeError(f"{new} was not closed cleanly; not publishing it")
    # the commit point: a Ctrl-C from here on would call the new result the previous one
    ignore_interrupts()
    os.replace(new, db)
    # the folder entry too, so the rename survives a power cut
    dir_fd = os.open(db.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
