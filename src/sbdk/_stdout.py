"""A closed stdout (``sbdk run | head``) ends the command quietly, as Unix tools do.

Python ignores SIGPIPE and raises ``BrokenPipeError`` at the next write instead, in whichever
thread writes (the main thread's summary, the progress thread, dbt's event callbacks), and
again when the interpreter flushes stdout at exit ("Exception ignored ... BrokenPipeError").
`guarded_stdout` wraps ``sys.stdout`` for the life of a command: the first write that finds
the pipe closed sends the rest of the output to ``os.devnull`` and asks the command to stop
(`sbdk._signals.stop_for_closed_stdout`: a Ctrl-C before the result is committed, nothing
after); the command line then says in one line on stderr what the database holds.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sbdk._signals import stop_for_closed_stdout

# typing.TYPE_CHECKING without importing typing: this module loads before the command line
# installs its Ctrl-C handling, so every millisecond here is a Ctrl-C shown as a traceback
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO


def _is_closed_pipe(exc: OSError) -> bool:
    return isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.EINVAL)


class _GuardedStream:
    """``stream`` whose writes never raise for a closed pipe: the first one that does ends
    its output (the file descriptor is pointed at ``os.devnull``) and stops the command."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.closed_pipe = False
        #: the command has finished: a closed pipe found now stops nothing
        self.done = False

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            if not _is_closed_pipe(exc):
                raise
            self._closed()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            if not _is_closed_pipe(exc):
                raise
            self._closed()

    def _closed(self) -> None:
        with self._lock:
            first = not self.closed_pipe
            self.closed_pipe = True
            if first:
                try:
                    # what is still buffered, and every later write (the flush at exit
                    # included), goes nowhere instead of failing again
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    try:
                        os.dup2(devnull, self._stream.fileno())
                    finally:
                        os.close(devnull)
                except (OSError, ValueError, AttributeError):
                    pass  # not a real file (a test's capture): the writes are dropped anyway
        if first and not self.done:
            stop_for_closed_stdout()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def guarded_stdout() -> Iterator[_GuardedStream]:
    """``sys.stdout`` guarded against a closed pipe inside the block (put back after)."""
    previous = sys.stdout
    guard = _GuardedStream(previous)
    sys.stdout = guard  # type: ignore[assignment]
    try:
        yield guard
    finally:
        guard.done = True
        try:
            guard.flush()  # a pipe closed after the last write shows here, not at exit
        finally:
            sys.stdout = previous
