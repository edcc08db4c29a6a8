"""Benchmark of the main job on each engine: `sbdk run --target <engine>` on the same
generated data (default 1,000,000 users, about 10 M events), one engine after the other.

Prints per engine: wall time of the whole command, its parts (generation, loading the raw
tables into the engine, dbt build), peak RSS of the whole process tree (the command, and
Spark's JVM or the PostgreSQL server's backends when started by this script), and raw rows
per second of load + build. The summary each run prints is compared across engines.

    python benchmarks/bench_engines.py                       # DuckDB and Spark, 1 M users
    python benchmarks/bench_engines.py --users 100000 --engines duckdb postgres spark

PostgreSQL needs a server: the one of SBDK_PG_* / PG* variables, else a throw-away one this
script starts (as the test suite does). Measure on the target machine in one run; absolute
times drift, ratios don't.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "python_tests"), str(ROOT / "src")]

from _measure import TreeMemory  # noqa: E402
from sbdk.defaults import DUCKDB_FILE  # noqa: E402
from sbdk.engines import ENGINES, PostgresEngine, postgres_settings  # noqa: E402
from warehouse import create_database  # noqa: E402

SBDK = str(Path(sys.executable).with_name("sbdk"))


def run_engine(engine: str, users: int, seed: int, work: Path, env: dict[str, str], server_pids: list[int]) -> dict:
    folder = work / engine
    folder.mkdir()
    cmd = [SBDK, "run", "--users", str(users), "--seed", str(seed), "--db", str(folder / DUCKDB_FILE),
           "--target", engine, "--no-progress"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=folder, env={**os.environ, **env, "SBDK_SPARK_DIR": str(folder / "spark")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid, server_pids)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    peak = memory.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{engine}: sbdk run failed ({proc.returncode}):\n{out[-3000:]}\n{err[-3000:]}")
    rows = int(re.search(r"generated ([\d,]+) raw rows in ([\d.]+) s", out).group(1).replace(",", ""))
    generate_s = float(re.search(r"generated [\d,]+ raw rows in ([\d.]+) s", out).group(1))
    build_s = float(re.search(r"dbt build: .* in ([\d.]+) s", out).group(1))
    return {
        "engine": engine, "wall": wall, "generate": generate_s, "build": build_s,
        "load": max(0.0, wall - generate_s - build_s), "peak_gb": peak / 2**30, "rows": rows,
        # what the user reads as the result (the last line names the file, which differs)
        "summary": [line for line in out[out.index("rows per model"):].splitlines()
                    if not line.endswith("now holds this result")],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000, help="users to generate (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"], choices=list(ENGINES))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sbdk-bench-engines-"))
    results = []
    with ExitStack() as stack:
        for engine in args.engines:
            env: dict[str, str] = {}
            server_pids: list[int] = []
            if engine == "postgres":
                settings = postgres_settings()
                if not (os.environ.get("SBDK_PG_HOST") or os.environ.get("PGHOST")):
                    from servers import temporary_postgres

                    settings = stack.enter_context(temporary_postgres())
                    server_pids = [p.pid for p in psutil.process_iter(["cmdline"])
                                   if "postgres -D" in " ".join(p.info["cmdline"] or [])
                                   and f"-p {settings['PORT']}" in " ".join(p.info["cmdline"] or [])]
                pg = PostgresEngine({**settings, "DATABASE": "sbdk_bench"})
                create_database(pg)
                env = pg.dbt_env()
            print(f"{engine}: sbdk run --users {args.users:,} ...", flush=True)
            results.append(run_engine(engine, args.users, args.seed, work, env, server_pids))
            r = results[-1]
            print(f"  wall {r['wall']:7.1f} s (generate {r['generate']:.1f}, start-up and load {r['load']:.1f}, "
                  f"dbt build {r['build']:.1f}); peak RSS {r['peak_gb']:.2f} GB; "
                  f"{r['rows'] / max(r['load'] + r['build'], 1e-9):,.0f} raw rows/s (load + build)", flush=True)

    print(f"\n{results[0]['rows']:,} raw rows ({args.users:,} users)")
    print(f"{'engine':<9} {'wall s':>8} {'load s*':>8} {'build s':>8} {'peak GB':>8} {'rows/s':>10} {'x DuckDB':>9}")
    base = results[0]["wall"]
    for r in results:
        rate = r["rows"] / max(r["load"] + r["build"], 1e-9)
        print(f"{r['engine']:<9} {r['wall']:8.1f} {r['load']:8.1f} {r['build']:8.1f} {r['peak_gb']:8.2f} "
              f"{rate:10,.0f} {r['wall'] / base:9.2f}")
    print("* load s: start-up (Python, dbt, a Spark session) and loading the raw tables into the engine")
    same = all(r["summary"] == results[0]["summary"] for r in results)
    print(f"\nsummaries identical across engines: {same}")
    for r in results[1:]:
        if r["summary"] != results[0]["summary"]:
            import difflib

            print("\n".join(difflib.unified_diff(results[0]["summary"], r["summary"], results[0]["engine"],
                                                  r["engine"], lineterm="")))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
