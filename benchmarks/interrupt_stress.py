"""Stress of the interrupt handling: Ctrl-C (SIGINT) at random moments of `sbdk run`.

Each round starts `sbdk run` on the same database with the other of two sets of arguments than
the result in place (A and B: other users and seed, so the two complete results differ), sends
one SIGINT (or SIGTERM with `--signal term`) at a random moment between the start and a little
past the time a whole run takes, and checks what the command said against what the database holds afterwards:

* **traceback**: "Traceback", "Exception ignored" or a colour code anywhere in the output;
* **wrong message**: an interrupted run must exit 130 (143 for SIGTERM) with exactly one line,
  ``sbdk: interrupted; <db> still holds the previous result``; a run the signal came too late
  for must exit 0, end with ``<db> now holds this result`` and print nothing on stderr;
* **mixed result**: the database (every table of the raw and model schemas: row counts, the
  revenue of `user_metrics`) must equal the complete result the message names: the one before
  the round ("still holds the previous result") or that of the round's own arguments;
* **leftover**: once the command has exited, nothing of its build (its private build folder,
  ``.<name>_sbdk_new_*``) may be left beside the database.

    python benchmarks/interrupt_stress.py --runs 200                    # DuckDB
    python benchmarks/interrupt_stress.py --runs 50 --target postgres   # PostgreSQL

The two complete results are made first (two uninterrupted runs, which also measure how long a
run takes). PostgreSQL needs a server: the one of `--pg-host`/`--pg-port`/`--pg-user`/
`--pg-database` (the password from `SBDK_PG_PASSWORD`/`PGPASSWORD`), else of `SBDK_PG_*` /
`PG*`, else a throw-away one the script starts as the test suite does. It prints one line per
bad round and the figures at the end; exit 1 if any round was bad.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "python_tests"), str(ROOT / "src")]

from sbdk.engines import MODEL_SCHEMA, RAW_SCHEMA, PostgresEngine, postgres_settings  # noqa: E402

SBDK = str(Path(sys.executable).with_name("sbdk"))
SIGNALS = {"int": (signal.SIGINT, 130), "term": (signal.SIGTERM, 143)}


def fingerprint_duckdb(db: Path) -> tuple:
    """Every table of the raw and model schemas with its row count, and the revenue."""
    import duckdb

    if not db.exists():
        return ()
    with duckdb.connect(str(db), read_only=True) as conn:
        return _fingerprint(lambda sql: conn.execute(sql).fetchall())


def fingerprint_postgres(settings: dict[str, str]) -> tuple:
    engine = PostgresEngine(settings)
    try:
        return _fingerprint(lambda sql: engine.query(sql)[1])
    finally:
        engine.close()


def _fingerprint(rows: object) -> tuple:
    tables = rows("select table_schema, table_name from information_schema.tables "
                  f"where table_schema in ('{RAW_SCHEMA}', '{MODEL_SCHEMA}') order by 1, 2")
    counts = tuple((s, t, rows(f'select count(*) from "{s}"."{t}"')[0][0]) for s, t in tables)
    revenue = None
    if any(t == "user_metrics" for s, t, _ in counts if s == MODEL_SCHEMA):
        revenue = Decimal(str(rows(f"select coalesce(sum(total_revenue), 0) from {MODEL_SCHEMA}.user_metrics")[0][0]))
    return counts, revenue


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200, help="interrupted rounds (default 200)")
    parser.add_argument("--users", type=int, default=300, help="users of run A; run B has 100 more (default 300)")
    parser.add_argument("--target", choices=["duckdb", "postgres"], default="duckdb")
    parser.add_argument("--signal", choices=list(SIGNALS), default="int", help="SIGINT (default) or SIGTERM")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random moments (default 1)")
    parser.add_argument("--late", type=float, default=1.1,
                        help="latest moment, as a share of a whole run's time (default 1.1: some rounds finish)")
    for name in ("host", "port", "user", "database"):
        parser.add_argument(f"--pg-{name}", help=f"PostgreSQL {name} (default: $SBDK_PG_{name.upper()})")
    args = parser.parse_args()
    sig, interrupted_code = SIGNALS[args.signal]
    rng = random.Random(args.seed)

    work = Path(tempfile.mkdtemp(prefix="sbdk-stress-"))
    db = work / "stress.duckdb"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1"}
    env.pop("SBDK_DUCKDB_PATH", None)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        if args.target == "postgres":
            given = {k.upper(): v for k in ("host", "port", "user", "database") if (v := getattr(args, f"pg_{k}"))}
            if given or os.environ.get("SBDK_PG_HOST") or os.environ.get("PGHOST"):
                pg = {**postgres_settings(), **given}
            else:
                from servers import temporary_postgres

                pg = stack.enter_context(temporary_postgres())
            env.update({f"SBDK_PG_{k}": v for k, v in pg.items()})

            def fingerprint() -> tuple:
                return fingerprint_postgres(pg)
        else:
            def fingerprint() -> tuple:
                return fingerprint_duckdb(db)

        runs = {"A": ["--users", str(args.users), "--seed", "11"],
                "B": ["--users", str(args.users + 100), "--seed", "12"]}

        def command(which: str) -> list[str]:
            return [SBDK, "run", *runs[which], "--db", str(db), "--target", args.target]

        complete: dict[str, tuple] = {}
        seconds = []
        for which in ("B", "A"):  # A last: the first round (B) starts from A's result
            t0 = time.monotonic()
            done = subprocess.run(command(which), cwd=work, env=env, capture_output=True, text=True)
            seconds.append(time.monotonic() - t0)
            if done.returncode != 0:
                raise SystemExit(f"run {which} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr}")
            complete[which] = fingerprint()
        whole = max(seconds)
        print(f"{args.target}: a whole run takes {whole:.1f} s; {args.runs} rounds with SIG{args.signal.upper()} "
              f"between 0 and {whole * args.late:.1f} s (seed {args.seed})", flush=True)

        counts = {"runs": 0, "interrupted": 0, "finished": 0, "tracebacks": 0, "wrong messages": 0,
                  "mixed results": 0, "leftovers": 0}
        state = complete["A"]
        previous_line = f"sbdk: interrupted; {db} still holds the previous result"
        t_start = time.monotonic()
        for round_no in range(1, args.runs + 1):
            which = "B" if state == complete["A"] else "A"  # the other result than the one in place
            delay = rng.uniform(0, whole * args.late)
            # in a process group of its own, signalled as a whole, as a terminal's Ctrl-C does
            proc = subprocess.Popen(command(which), cwd=work, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)
            try:
                out, err = proc.communicate(timeout=delay)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, sig)
                out, err = proc.communicate(timeout=600)
            code = proc.returncode
            counts["runs"] += 1
            after = fingerprint()
            problems = []
            if "Traceback" in out + err or "Exception ignored" in out + err or "\x1b[" in out + err:
                counts["tracebacks"] += 1
                problems.append("traceback")
            lines = [line for line in err.splitlines() if line.strip()]
            # (a signal while the command's modules load, before it looked at the database,
            # says that nothing was written: as true)
            # (on PostgreSQL the line adds that its schemas hold the previous result too)
            said_previous = len(lines) == 1 and (lines[0] == previous_line or (
                args.target == "postgres"
                and lines[0].startswith(f"{previous_line}; so do the PostgreSQL schemas raw and main ")))
            if code == interrupted_code and (said_previous or lines == ["sbdk: interrupted; nothing was written"]):
                counts["interrupted"] += 1
                expected = state
            elif code == 0 and not lines and out.rstrip().endswith(f"{db} now holds this result"):
                counts["finished"] += 1
                expected = complete[which]
            else:
                counts["wrong messages"] += 1
                problems.append(f"wrong message (exit {code}): {lines[-3:]}")
                expected = None
            if after not in (complete["A"], complete["B"]) or (expected is not None and after != expected):
                counts["mixed results"] += 1
                problems.append("mixed result" if after not in complete.values()
                                else "the database holds the other complete result than the message says")
            left = sorted(p.name for p in work.iterdir() if "_sbdk_new_" in p.name)
            if left:
                counts["leftovers"] += 1
                problems.append(f"left beside the database: {left}")
            if problems:
                print(f"round {round_no} ({which}, signal at {delay:.2f} s): {'; '.join(problems)}", flush=True)
            if after in complete.values():
                state = after
            else:  # start the next round from a complete result again
                again = subprocess.run(command("A"), cwd=work, env=env, capture_output=True, text=True)
                if again.returncode != 0:
                    raise SystemExit(f"could not restore a complete result:\n{again.stderr}")
                state = fingerprint()
            if round_no % 10 == 0:
                print(f"  {round_no}/{args.runs} rounds, {time.monotonic() - t_start:.0f} s", flush=True)

    print(f"\n{args.target}, SIG{args.signal.upper()} at random moments:")
    for name, value in counts.items():
        print(f"  {name:<15} {value:5d}")
    bad = counts["tracebacks"] + counts["wrong messages"] + counts["mixed results"] + counts["leftovers"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
