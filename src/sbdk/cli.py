"""The `sbdk` command: parse the arguments (`sbdk.options`), run the command
(`sbdk.pipeline`), print what it did (`sbdk.summary`).

    sbdk generate --users N [--seed S] [--db PATH] [--schema raw] [--start DATE] [--end DATE] [--dirty RATE]
    sbdk run [--users N] [--seed S] [--as-of DATE] [--db PATH] [--dirty RATE] [--threads N] [--target ENGINE]

Exit codes: 0 success, 1 a failed command (one line naming what failed), 2 bad usage,
130 interrupted. Never a traceback, unless `--debug`.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from sbdk.options import (
    EXIT_ERROR,
    CliError,
    GenerateSettings,
    InterruptedAfterWrite,
    build_parser,
    first_line,
    settings_from,
)
from sbdk.pipeline import generate_raw, install_first_interrupt_handler, run_pipeline
from sbdk.summary import ConsoleReporter, print_generated, print_published

__all__ = ["build_parser", "main"]

EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    # first: a Ctrl-C while the arguments are parsed (which imports the generator) is an
    # interrupt like any other, not a traceback
    install_first_interrupt_handler()
    # dbt logs to a file; when the disk is full, every log call would print a
    # "--- Logging error ---" block: the command's own error line says it once
    logging.raiseExceptions = False
    db: Path | None = None
    debug = False
    try:
        args = build_parser().parse_args(argv)
        debug = args.debug
        settings = settings_from(args)
        db = settings.db
        if isinstance(settings, GenerateSettings):
            print_generated(generate_raw(settings), settings.db, settings.schema)
        else:
            print_published(run_pipeline(settings, ConsoleReporter()).db)
        return 0
    except CliError as exc:
        print(f"sbdk: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        # Python's shutdown restores the default handler: one more Ctrl-C then would turn
        # exit 130 into a death by signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        where = (exc.where if isinstance(exc, InterruptedAfterWrite)
                 else f"{db} still holds the previous result" if db is not None else "nothing was written")
        print(f"sbdk: interrupted; {where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if debug:
            raise
        print(f"sbdk: error: unexpected {type(exc).__name__}: {first_line(exc, 'no message')} "
              "(run with --debug for details)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
