"""Ctrl-C while cleaning up: cleanup runs to its end.

A user (or a test) who presses Ctrl-C again while the first interrupt is being handled
must not cut the cleanup short: a ``KeyboardInterrupt`` raised inside a ``finally`` leaves
temporary tables behind, and one raised inside a generator that is being closed by the
garbage collector is printed as a traceback ("Exception ignored in ...").
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold SIGINT for the duration of the block.

    A Ctrl-C received inside the block is raised as ``KeyboardInterrupt`` when the block
    ends normally; when the block ends with an exception (typically the first interrupt),
    that exception goes on and the held signal is dropped. Outside the main thread, where
    Python cannot change signal handlers, the block runs unshielded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


class _FirstInterrupt:
    """SIGINT handler of the command line: the first Ctrl-C raises ``KeyboardInterrupt``,
    later ones are remembered but raise nothing, so the cleanup the first one started (and
    the garbage collection of its traceback) runs to its end without a second traceback."""

    def __init__(self) -> None:
        self.received = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.received:
            return
        self.received = True
        raise KeyboardInterrupt


_handler: _FirstInterrupt | None = None


def install_first_interrupt_handler() -> None:
    """Install the command line's SIGINT handler (main thread only)."""
    global _handler
    _handler = _FirstInterrupt()
    signal.signal(signal.SIGINT, _handler)


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C arrived that nothing raised yet.

    A ``KeyboardInterrupt`` raised while DuckDB runs a query can be absorbed when the query
    finishes anyway; long loops call this between steps so such a Ctrl-C still stops them.
    """
    if _handler is not None and _handler.received:
        raise KeyboardInterrupt
