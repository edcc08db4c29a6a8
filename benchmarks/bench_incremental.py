"""Incremental build against a full refresh, on the same raw rows (DuckDB).

Generates the raw data once (`sbdk generate`, every row stamped with its load time) and builds
it in full: the result a daily job starts from. Then one arrival batch is appended
(`sbdk.arrivals.append_arrivals`, what `sbdk generate --append` does): the next day's events and
orders of a random 1 % of the users (about 1 % of the rows), late events and orders up to 30 days
old, late copies of existing ids with an earlier timestamp under another user, re-delivered
identical rows, bridging events, new users (some with an existing email and an earlier signup,
some whose events come a batch before them). The builds after it run as of the batch's day (a
daily run: `as_of_date` moved a day). On that same raw data it times, alternately (A B A B):

- A: an ordinary `dbt build` on a copy of the built result (incremental);
- B: a `--full-refresh` build on another copy.

Each build runs in its own process that imports dbt and parses the project once (start-up,
not counted), then `dbt seed`, `dbt run` and `dbt test` on that manifest, as
`bench_scale.py` splits them; the figure compared is seed + run + test. Peak RSS is the
whole process tree's. After the last pair, every model of the incremental result must equal
the full refresh's (as multisets, dbt_updated_at left out), or the script exits 1. Last, the
incremental result is built once more with nothing new: the floor of any incremental build.

    python benchmarks/bench_incremental.py                        # 1 M users (about 10 M events)
    python benchmarks/bench_incremental.py --users 100000 --repeat 1
    python benchmarks/bench_incremental.py --engine postgres --users 100000   # about 1 M events

On PostgreSQL (a server of SBDK_PG_* / PG* variables, else a throw-away one the script starts)
there is no file to copy: before each build the raw tables are loaded again and the first full
build is redone (not timed), then the incremental build and the full refresh are compared by a
checksum of every model's rows.

It is not part of the test suite. Measure on the target machine in one run: absolute times
drift, ratios don't.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks")]

from _measure import TreeMemory  # noqa: E402
from bench_scale import AS_OF, DRIVER, generate  # noqa: E402
from sbdk.arrivals import append_arrivals  # noqa: E402
from sbdk.defaults import DUCKDB_FILE  # noqa: E402

TIMED = ("seed", "run", "test")
MODELS = ("stg_users", "stg_events", "stg_orders", "int_user_activity", "int_user_orders", "int_event_sessions",
          "user_metrics", "cohort_summary", "cohort_retention", "product_summary", "daily_summary",
          "data_quality_summary")


def build(db: Path, work: Path, as_of: str, *, full_refresh: bool = False, engine=None) -> dict:
    """Seed, run and test the project on ``db`` in place (or on ``engine``, a PostgreSQL
    database); timings and peak memory."""
    target = {"SBDK_DUCKDB_PATH": str(db)} if engine is None else engine.dbt_env()
    env = {**os.environ, **target, "SBDK_DBT_THREADS": "2",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_FULL_REFRESH": "true" if full_refresh else "false"}
    env.pop("SBDK_DUCKDB_MEMORY_LIMIT", None)
    args = ["--project-dir", str(ROOT), "--profiles-dir", str(ROOT),
            "--target", "duckdb" if engine is None else "postgres",
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            "--vars", json.dumps({"as_of_date": as_of}), "--quiet"]
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(args)], env=env, cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    out, err = proc.communicate()
    peak = memory.stop()
    if proc.returncode != 0:
        raise SystemExit(f"build failed (exit {proc.returncode}):\n{out[-3000:]}\n{err[-3000:]}")
    measured = json.loads(out.strip().splitlines()[-1])
    models = {uid.split(".")[2]: s for uid, s in measured["nodes"].items() if uid.startswith("model.")}
    tests = {uid.split(".")[2]: s for uid, s in measured["nodes"].items() if uid.startswith("test.")}
    return {"timed": sum(measured[p] for p in TIMED), "peak": peak, "models": models, "tests": tests,
            **{p: measured[p] for p in ("start-up", *TIMED)}}


def differences(a: Path, b: Path) -> list[str]:
    """Models whose rows differ between the two files (dbt_updated_at left out)."""
    import duckdb

    out = []
    with duckdb.connect(str(a), read_only=True) as con:
        con.execute(f"attach '{b}' as other (read_only)")
        for model in MODELS:
            cols = [r[0] for r in con.execute(f"describe main.{model}").fetchall() if r[0] != "dbt_updated_at"]
            select = ", ".join(f'"{c}"' for c in cols)
            n = con.execute(f"""select count(*) from (
                (select {select} from main.{model} except all select {select} from other.main.{model})
                union all
                (select {select} from other.main.{model} except all select {select} from main.{model}))"""
            ).fetchone()[0]
            if n:
                out.append(f"{model}: {n} rows differ")
    return out


def checksums(engine) -> dict[str, str]:
    """An md5 of each model's rows (dbt_updated_at left out), on PostgreSQL."""
    out = {}
    for model in MODELS:
        cols = [r["column_name"] for r in engine.rows(
            "select column_name from information_schema.columns where table_schema = 'main' "
            f"and table_name = '{model}' order by ordinal_position") if r["column_name"] != "dbt_updated_at"]
        select = ", ".join(f'"{c}"' for c in cols)
        out[model] = engine.rows(f"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as h "
                                 f"from (select {select} from main.{model}) as t")[0]["h"]
    return out


def main_postgres(args, work: Path) -> int:
    """The same comparison on PostgreSQL: raw tables reloaded and the first build redone before
    each timed build, since a database cannot be copied like a file."""
    sys.path[:0] = [str(ROOT / "python_tests")]
    from sbdk.engines import RAW_SCHEMA, PostgresEngine, postgres_settings
    from servers import temporary_postgres
    from warehouse import create_database, drop_schemas

    base = work / "base.duckdb"
    rows, events, gen_s = generate(args.users, args.seed, base)
    print(f"{args.users:,} users: {rows:,} raw rows ({events:,} events) generated in {gen_s:.1f} s", flush=True)
    after = work / "after.duckdb"
    shutil.copyfile(base, after)
    batch = append_arrivals(after, seed=args.seed, share=args.share)
    print(f"arrival batch of {batch.day}: " + ", ".join(f"{t} +{n:,}" for t, n in batch.rows.items())
          + f" ({100 * batch.total_rows / rows:.2f} % of the raw rows)", flush=True)
    tables = ("raw_users", "raw_events", "raw_orders")
    results: dict[str, list[dict]] = {"incremental": [], "full refresh": []}
    sums: dict[str, dict[str, str]] = {}
    with ExitStack() as stack:
        settings = postgres_settings()
        if not (os.environ.get("SBDK_PG_HOST") or os.environ.get("PGHOST")):
            settings = stack.enter_context(temporary_postgres())
        engine = PostgresEngine({**settings, "DATABASE": "sbdk_bench_incremental"})
        create_database(engine)
        stack.callback(engine.close)
        for i in range(args.repeat):
            for kind in ("incremental", "full refresh"):
                drop_schemas(engine, RAW_SCHEMA, "main")
                engine.load_duckdb_tables(base, tables)
                build(base, work, AS_OF, engine=engine)
                engine.load_duckdb_tables(after, tables)
                r = build(base, work, batch.day.isoformat(), full_refresh=kind == "full refresh", engine=engine)
                results[kind].append(r)
                sums[kind] = checksums(engine)
                print(f"  [{i + 1}] {kind:<12}: {r['timed']:6.1f} s (seed {r['seed']:.1f}, run {r['run']:.1f}, "
                      f"test {r['test']:.1f}; start-up {r['start-up']:.1f} not counted)", flush=True)
    diff = [m for m in MODELS if sums["incremental"][m] != sums["full refresh"][m]]
    return report(args, results, diff, memory=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000, help="users, about 10 events each (default 1 M)")
    parser.add_argument("--share", type=float, default=0.01, help="share of the users active in the batch")
    parser.add_argument("--repeat", type=int, default=2, help="A B pairs (default 2)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--engine", choices=("duckdb", "postgres"), default="duckdb")
    args = parser.parse_args(argv)

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="sbdk-bench-incremental-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.engine == "postgres":
        try:
            return main_postgres(args, work)
        finally:
            if args.work_dir is None:
                shutil.rmtree(work, ignore_errors=True)
    try:
        base = work / "base.duckdb"
        rows, events, gen_s = generate(args.users, args.seed, base)
        print(f"{args.users:,} users: {rows:,} raw rows ({events:,} events) generated in {gen_s:.1f} s", flush=True)
        first = build(base, work, AS_OF)
        print(f"first full build: {first['timed']:.1f} s (seed + run + test), peak {first['peak'] / 2**30:.2f} GB",
              flush=True)
        batch = append_arrivals(base, seed=args.seed, share=args.share)
        print(f"arrival batch of {batch.day} (the builds' as_of_date): "
              + ", ".join(f"{t} +{n:,}" for t, n in batch.rows.items())
              + f" ({100 * batch.total_rows / rows:.2f} % of the raw rows)", flush=True)
        print("  " + ", ".join(f"{k} {n:,}" for k, n in batch.kinds.items()), flush=True)

        results: dict[str, list[dict]] = {"incremental": [], "full refresh": []}
        kept: dict[str, Path] = {}
        for i in range(args.repeat):
            for kind in ("incremental", "full refresh"):
                db = work / kind.replace(" ", "_") / DUCKDB_FILE
                shutil.rmtree(db.parent, ignore_errors=True)
                db.parent.mkdir(parents=True)
                shutil.copyfile(base, db)
                r = build(db, db.parent, batch.day.isoformat(), full_refresh=kind == "full refresh")
                results[kind].append(r)
                kept[kind] = db
                print(f"  [{i + 1}] {kind:<12}: {r['timed']:6.1f} s (seed {r['seed']:.1f}, run {r['run']:.1f}, "
                      f"test {r['test']:.1f}; start-up {r['start-up']:.1f} not counted), peak "
                      f"{r['peak'] / 2**30:.2f} GB", flush=True)
        diff = differences(kept["incremental"], kept["full refresh"])
        # The floor: the same build again with nothing new (dbt's fixed costs, the state
        # checks and the data tests, which read whole tables).
        results["nothing new"] = [build(kept["incremental"], kept["incremental"].parent, batch.day.isoformat())]
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return report(args, results, diff, memory=True)


def report(args, results: dict[str, list[dict]], diff: list[str], *, memory: bool) -> int:
    """The ratio, the phases, the models' and the slowest tests' seconds; 1 if results differ."""
    inc, full = results["incremental"], results["full refresh"]
    ratio = statistics.median(r["timed"] for r in inc) / statistics.median(r["timed"] for r in full)
    print(f"\nincremental / full refresh (seed + run + test, median of {args.repeat}): {100 * ratio:.1f} %")
    for part in TIMED:
        print(f"  {part:<5} {statistics.median(r[part] for r in inc):7.1f} s vs "
              f"{statistics.median(r[part] for r in full):7.1f} s")
    if "nothing new" in results:
        floor = results["nothing new"][0]
        print(f"  a build with nothing new after it: {floor['timed']:.1f} s (seed {floor['seed']:.1f}, "
              f"run {floor['run']:.1f}, test {floor['test']:.1f}), "
              f"{100 * floor['timed'] / statistics.median(r['timed'] for r in full):.1f} % of the full refresh")
    if memory:  # on PostgreSQL the work is the server's, outside this process tree
        print(f"peak RSS: incremental {max(r['peak'] for r in inc) / 2**30:.2f} GB, "
              f"full refresh {max(r['peak'] for r in full) / 2**30:.2f} GB")
    print("\nmodel seconds (last pair)        incremental  full refresh")
    for name in MODELS:
        print(f"  {name:<30} {inc[-1]['models'].get(name, float('nan')):11.1f} "
              f"{full[-1]['models'].get(name, float('nan')):13.1f}")
    print("\nslowest tests (last pair)        incremental  full refresh")
    for name in sorted(inc[-1]["tests"], key=lambda n: -inc[-1]["tests"][n])[:8]:
        print(f"  {name[:30]:<30} {inc[-1]['tests'][name]:11.2f} {full[-1]['tests'].get(name, float('nan')):13.2f}")
    print(f"  all {len(inc[-1]['tests'])} tests, summed          {sum(inc[-1]['tests'].values()):11.1f} "
          f"{sum(full[-1]['tests'].values()):13.1f}")
    if diff:
        print("\nthe incremental result differs from the full refresh:\n  " + "\n  ".join(diff))
        return 1
    print("\nevery model of the incremental result equals the full refresh's (dbt_updated_at aside)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
