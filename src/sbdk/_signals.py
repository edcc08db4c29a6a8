"""Ctrl-C while cleaning up: cleanup runs to its end.

A user (or a test) who presses Ctrl-C again while the first interrupt is being handled
must not cut the cleanup short: a ``KeyboardInterrupt`` raised inside a ``finally`` leaves
temporary tables behind, and one raised inside a generator that is being closed by the
garbage collector is printed as a traceback ("Exception ignored in ...").

SIGTERM (``kill``, a service manager stopping the command) is handled like Ctrl-C: it raises
``KeyboardInterrupt`` once, so the same cleanup runs and the same line is printed
(`received_signal` tells the command line which one came, for its exit code). A closed
stdout (``sbdk run | head``) stops the command the same way (`stop_for_closed_stdout`).
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing (sbdk._stdout says why)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: The signals the command line stops on: Ctrl-C and ``kill``.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the duration of the block.

    A Ctrl-C (or SIGTERM) received inside the block is raised as ``KeyboardInterrupt`` when
    the block ends normally; when the block ends with an exception (typically the first
    interrupt), that exception goes on and the held signal is dropped. Outside the main thread, where
    Python cannot change signal handlers, the block runs unshielded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: received.append(signum)) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        if _handler is not None and not _handler.received:
            _handler.received, _handler.signum = True, received[0]
        raise KeyboardInterrupt


class _FirstInterrupt:
    """SIGINT and SIGTERM handler of the command line: the first Ctrl-C (or SIGTERM) raises ``KeyboardInterrupt``,
    later ones are remembered but raise nothing, so the cleanup the first one started (and
    the garbage collection of its traceback) runs to its end without a second traceback."""

    def __init__(self) -> None:
        self.received = False
        #: the first interrupt landed where Python could only print it: raise it once more
        self.redeliver = False
        #: inside `_unraisable`, where a raised interrupt would be printed again
        self.in_hook = False
        #: the first signal received (SIGINT or SIGTERM)
        self.signum: int | None = None
        #: the stop was asked for because stdout was closed (`stop_for_closed_stdout`)
        self.stdout_closed = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.in_hook:
            _redeliver_soon()
            return
        if self.received and not self.redeliver:
            return
        if self.signum is None:
            self.signum = signum
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
    """Install the command line's SIGINT and SIGTERM handler (main thread only)."""
    global _handler
    _handler = _FirstInterrupt()
    for sig in STOP_SIGNALS:
        signal.signal(sig, _handler)
    sys.unraisablehook = _unraisable(sys.unraisablehook)


def ignore_interrupts() -> None:
    """From here on a Ctrl-C does nothing: the command is committed (its result is being
    published) and what is left is short. Without it, a Ctrl-C after the publish would say
    that the file still holds the previous result, or, once ``main`` has returned, end the
    process by the signal although it printed its result. Only in a command line (after
    `install_first_interrupt_handler`); elsewhere, e.g. a test calling `publish`, nothing
    changes. SIGTERM is ignored from here on too."""
    if _handler is not None and threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def received_signal() -> int | None:
    """The first stop signal the command line received (SIGINT or SIGTERM), if any."""
    return None if _handler is None else _handler.signum


def stop_for_closed_stdout() -> None:
    """Stop the command because its stdout was closed (called from any thread, on the first
    failed write): the main thread gets a SIGINT, handled as a Ctrl-C, unless the command is
    committed already (`ignore_interrupts`), in which case it finishes. Only in a command
    line; elsewhere nothing happens."""
    if _handler is None or _handler.stdout_closed:
        return
    _handler.stdout_closed = True
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


def stdout_was_closed() -> bool:
    """Whether the command line's stdout was closed while it ran."""
    return _handler is not None and _handler.stdout_closed


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
