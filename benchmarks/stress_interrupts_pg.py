"""Stress of `sbdk run --target postgres` under Ctrl-C (a script, not a test): N runs, each
interrupted at a random moment of its life, alternating between two user counts so a mix of
two results would show.

After every run the schemas raw and main must hold one complete result: the previous one,
table for table, when the run says "interrupted; ... still holds the previous result; so do
the PostgreSQL schemas ...", the run's own when it finished (exit 0, "now holds this result").
Counts tracebacks, wrong messages and mixed results; prints one line per run and a total.

    python benchmarks/stress_interrupts_pg.py --runs 50

PostgreSQL: the server of SBDK_PG_* / PG* variables, else a throw-away one (as the test suite).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "python_tests"), str(ROOT / "src")]

from sbdk.engines import PostgresEngine, postgres_settings  # noqa: E402

SBDK = str(Path(sys.executable).with_name("sbdk"))


def snapshot(engine: PostgresEngine) -> dict[str, list[tuple]]:
    _, tables = engine.query("select table_schema, table_name from information_schema.tables "
                             "where table_schema in ('raw', 'main') order by 1, 2")
    return {f"{s}.{t}": sorted(engine.query(f'select * from "{s}"."{t}"')[1], key=repr) for s, t in tables}


def consistent(engine: PostgresEngine, users: int) -> bool:
    raw = {t: engine.scalar_row(f"select count(*) from raw.{t}")[0] for t in ("raw_users", "raw_events", "raw_orders")}
    summary = dict(engine.query("select source_table, sum(row_count)::bigint from main.data_quality_summary "
                                "group by 1")[1])
    return raw["raw_users"] == users and summary == raw


def run(db: Path, engine: PostgresEngine, users: int, seed: int, delay: float | None) -> tuple[int, str, str]:
    env = {**os.environ, **engine.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("SBDK_DUCKDB_PATH", None)
    proc = subprocess.Popen([SBDK, "run", "--users", str(users), "--seed", str(seed), "--db", str(db),
                             "--target", "postgres"], cwd=db.parent, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if delay is not None:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--users", type=int, nargs=2, default=[300, 600])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with ExitStack() as stack:
        if os.environ.get("SBDK_PG_HOST") or os.environ.get("PGHOST"):
            settings = postgres_settings()
        else:
            from servers import temporary_postgres

            settings = stack.enter_context(temporary_postgres())
        engine = PostgresEngine({**settings, "DATABASE": "sbdk_stress"})
        admin = engine.connect("postgres")
        with admin.cursor() as cur:
            cur.execute("drop database if exists sbdk_stress with (force)")
            cur.execute("create database sbdk_stress")
        admin.close()
        db = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sbdk-stress-"))) / "stress.duckdb"
        start = time.monotonic()
        code, out, err = run(db, engine, args.users[0], 0, None)
        if code != 0:
            print(out, err)
            return 1
        duration = time.monotonic() - start
        previous, previous_users = snapshot(engine), args.users[0]
        place = (f"the PostgreSQL schemas raw and main of database sbdk_stress on {settings['HOST']}:"
                 f"{settings['PORT']}")
        interrupted_line = f"sbdk: interrupted; {db} still holds the previous result; so do {place}"
        counts = {"runs": 0, "interrupted": 0, "finished": 0, "tracebacks": 0, "wrong messages": 0, "mixed": 0}
        for i in range(args.runs):
            users = args.users[(i + 1) % 2]
            delay = rng.uniform(0, duration * 1.1)
            code, out, err = run(db, engine, users, i + 1, delay)
            counts["runs"] += 1
            lines = [line for line in err.splitlines() if line.strip()]
            if "Traceback" in out + err:
                counts["tracebacks"] += 1
            now = snapshot(engine)
            if code == 130:
                counts["interrupted"] += 1
                # before the settings are read (parsing the arguments), nothing was written either
                ok_message = lines in ([interrupted_line], ["sbdk: interrupted; nothing was written"])
                ok_data = now == previous
            elif code == 0:
                counts["finished"] += 1
                ok_message = lines == [] and out.rstrip().endswith("now holds this result")
                ok_data = consistent(engine, users)
                previous, previous_users = now, users
            else:
                ok_message, ok_data = False, consistent(engine, previous_users)
            counts["wrong messages"] += not ok_message
            counts["mixed"] += not ok_data
            print(f"run {i + 1:3}: {users} users, Ctrl-C after {delay:5.2f} s: exit {code}"
                  f"{'' if ok_message else '  WRONG MESSAGE ' + repr(lines[-3:])}{'' if ok_data else '  MIXED'}",
                  flush=True)
        engine.close()
        print(", ".join(f"{k} {v}" for k, v in counts.items()), f"(a run without Ctrl-C: {duration:.1f} s)")
        return 0 if counts["tracebacks"] == counts["wrong messages"] == counts["mixed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
