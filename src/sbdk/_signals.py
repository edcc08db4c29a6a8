"""Ctrl-C while cleaning up: cleanup runs to its end.

A user (or a test) who presses Ctrl-C again while the first interrupt is being handled
must not cut the cleanup short: a ``KeyboardInterrupt`` raised inside a ``finally`` leaves
temporary tables behind, and one raised inside a generator that is being closed by the
garbage collector is printed as a traceback ("Exception ignored in ...").
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
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
        #: the first interrupt landed where Python could only print it: raise it once more
        self.redeliver = False
        #: inside `_unraisable`, where a raised interrupt would be printed again
        self.in_hook = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.in_hook:
            _redeliver_soon()
            return
        if self.received and not self.redeliver:
            return
        self.received = True
        self.redeliver = False
        raise KeyboardInterrupt


def _redeliver_soon() -> None:
    """SIGINT to the main thread from a helper thread, once the main thread left the code
    where it could not raise (a real signal, so a main thread blocked on a lock wakes up)."""
    main = threading.main_thread().ident
    timer = threading.Timer(0.01, signal.pthread_kill, args=(main, signal.SIGINT))
    timer.daemon = True
    timer.start()


def _unraisable(hook: Callable[[object], object]) -> Callable[[object], None]:
    """A ``sys.unraisablehook`` for the command line.

    The first Ctrl-C can land while the main thread runs code whose exceptions Python
    cannot propagate: a ``__del__``, a weak-reference callback, a generator closed by the
    garbage collector. Python would print "Exception ignored in ..." and the traceback of
    the ``KeyboardInterrupt`` to stderr and carry on as if nothing was pressed; such an
    interrupt is delivered again instead, silently, once the main thread is out of there.
    """

    def handle(unraisable: object) -> None:
        exc_type = getattr(unraisable, "exc_type", None)
        if _handler is None or exc_type is None or not issubclass(exc_type, KeyboardInterrupt):
            hook(unraisable)
            return
        _handler.in_hook = True
        try:
            _handler.redeliver = True
            _redeliver_soon()
        finally:
            _handler.in_hook = False

    return handle


_handler: _FirstInterrupt | None = None


def install_first_interrupt_handler() -> None:
    """Install the command line's SIGINT handler (main thread only)."""
    global _handler
    _handler = _FirstInterrupt()
    signal.signal(signal.SIGINT, _handler)
    sys.unraisablehook = _unraisable(sys.unraisablehook)


def ignore_interrupts() -> None:
    """From here on a Ctrl-C does nothing: the command is committed (its result is being
    published) and what is left is short. Without it, a Ctrl-C after the publish would say
    that the file still holds the previous result, or, once ``main`` has returned, end the
    process by the signal although it printed its result. Only in a command line (after
    `install_first_interrupt_handler`); elsewhere, e.g. a test calling `publish`, nothing
    changes."""
    if _handler is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def interrupted() -> bool:
    """Whether the command line received a Ctrl-C."""
    return _handler is not None and _handler.received


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C arrived that nothing raised yet.

    A ``KeyboardInterrupt`` raised while DuckDB runs a query can be absorbed when the query
    finishes anyway; long loops call this between steps so such a Ctrl-C still stops them.
    """
    if _handler is not None and _handler.received:
        raise KeyboardInterrupt
