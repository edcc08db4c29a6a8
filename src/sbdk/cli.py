"""The `sbdk` command: parse the arguments (`sbdk.options`), run the command
(`sbdk.pipeline`), print what it did (`sbdk.summary`).

    sbdk generate --users N [--seed S] [--db PATH] [--schema raw] [--start DATE] [--end DATE] [--dirty RATE]
    sbdk generate --append [--seed S] [--db PATH] [--schema raw]
    sbdk run [--users N] [--seed S] [--as-of DATE] [--db PATH] [--dirty RATE] [--threads N] [--target ENGINE]
    sbdk run --append-days N [--full-refresh] [--seed S] [--db PATH] [--threads N]

Exit codes: 0 success, 1 a failed command (one line naming what failed), 2 bad usage,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 141 stdout closed (``sbdk run | head``).
Never a traceback, unless `--debug`.
"""

from __future__ import annotations

# only light modules here: until `main` has installed the Ctrl-C handling, a Ctrl-C is
# Python's own (a traceback); everything else (logging, pathlib, the command's modules)
# loads after it
import os
import signal
import sys
import threading

from sbdk._signals import (
    ignore_interrupts,
    install_first_interrupt_handler,
    received_signal,
    stdout_was_closed,
)
from sbdk._stdout import guarded_stdout

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing (see above)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["build_parser", "console_main", "main"]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
#: 128 + SIGTERM: stopped by `kill` (the same cleanup and line as a Ctrl-C)
EXIT_TERMINATED = 143
#: 128 + SIGPIPE: stdout was closed before the command had printed everything
EXIT_STDOUT_CLOSED = 141


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser (`sbdk.options.build_parser`)."""
    from sbdk.options import build_parser as build

    return build()


def _previous(db: Path | None, existed: bool) -> str:
    """What the database holds when a command stops before its commit point."""
    if db is None:
        return "nothing was written"
    return f"{db} still holds the previous result" if existed else f"no result was written to {db}"


def _stopped(where: str) -> int:
    """The line and exit code of a command stopped by a signal or a closed stdout."""
    # Python's shutdown restores the default handler: one more Ctrl-C then would turn
    # the exit code into a death by signal
    ignore_interrupts()
    if stdout_was_closed():
        print(f"sbdk: stdout was closed; {where}", file=sys.stderr)
        return EXIT_STDOUT_CLOSED
    print(f"sbdk: interrupted; {where}", file=sys.stderr)
    return EXIT_TERMINATED if received_signal() == signal.SIGTERM else EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    # first: a Ctrl-C while the modules load or the arguments are parsed (which imports the
    # generator) is an interrupt like any other, not a traceback
    install_first_interrupt_handler()
    try:
        import logging

        # dbt logs to a file; when the disk is full, every log call would print a
        # "--- Logging error ---" block: the command's own error line says it once
        logging.raiseExceptions = False
        from sbdk.options import CliError, GenerateSettings, InterruptedAfterWrite, first_line, settings_from
        from sbdk.pipeline import append_raw, generate_raw, run_pipeline
        from sbdk.summary import ConsoleReporter, print_appended, print_generated, print_published
    except KeyboardInterrupt:
        return _stopped("nothing was written")
    db: Path | None = None
    existed = False
    debug = False
    with guarded_stdout() as out:
        try:
            args = build_parser().parse_args(argv)
            debug = args.debug
            settings = settings_from(args)
            db = settings.db
            existed = db.exists()
            if isinstance(settings, GenerateSettings) and settings.append:
                batch = append_raw(settings)
                ignore_interrupts()  # committed
                done = f"{settings.db} holds the appended rows"
                print_appended(batch, settings.db, settings.schema)
            elif isinstance(settings, GenerateSettings):
                generated = generate_raw(settings)
                # the new tables are in place: a Ctrl-C from here on changes nothing
                ignore_interrupts()
                done = f"{settings.db} holds the new raw tables"
                print_generated(generated, settings.db, settings.schema)
            else:
                published = run_pipeline(settings, ConsoleReporter()).db  # commits (ignores interrupts)
                done = f"{published} now holds this result"
                print_published(published)
        except CliError as exc:
            print(f"sbdk: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt as exc:
            return _stopped(exc.where if isinstance(exc, InterruptedAfterWrite) else _previous(db, existed))
        except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
            if debug:
                raise
            print(f"sbdk: error: unexpected {type(exc).__name__}: {first_line(exc, 'no message')} "
                  "(run with --debug for details)", file=sys.stderr)
            return EXIT_ERROR
    if out.closed_pipe:
        print(f"sbdk: stdout was closed; {done}", file=sys.stderr)
        return EXIT_STDOUT_CLOSED
    return 0


def console_main() -> None:
    """The `sbdk` console script: `main`, then exit with its code.

    A command that stopped (Ctrl-C, SIGTERM, a closed stdout) or failed can leave one of dbt's
    threads inside a DuckDB call, a model's query the stop did not cancel. Python's shutdown
    ends such a thread with ``pthread_exit`` when the call returns, and DuckDB's C++ code turns
    that into an abort after the command has printed its line ("FATAL: exception not
    rethrown", exit -6). Such a command has cleaned up by then (nothing of it waits for the
    shutdown), so it exits without the shutdown.
    """
    code = main()
    if code != 0 and threading.active_count() > 1:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console_main()
