"""Scale benchmark of the DuckDB build: how wall time and memory grow with the data.

For each size it generates the raw data once (`sbdk generate`), then builds it once per
memory limit on a fresh copy of that file, in one process that imports dbt and parses the
project once (start-up), then runs `dbt seed`, `dbt run` (the models) and `dbt test` (every
data test) on that manifest, as `sbdk run` does. It prints per build: wall time by phase,
peak RSS of the whole process tree, raw rows per second, the share of the test phase, the
ratio to the previous size (time and memory) and to the first limit of the same size; then
the seconds of every model and of the slowest tests.

    python benchmarks/bench_scale.py                                  # 1 M, 3 M, 10 M users
    python benchmarks/bench_scale.py --users 100000 300000 --limits none 256MB
    python benchmarks/bench_scale.py --users 3000000 --limits none 3GB --repeat 2

`--limits` takes DuckDB memory limits (`3GB`, `50%`) or `none` (no limit); a build with a
limit spills to `<database>.tmp` beside the file. `--repeat N` runs the limits of a size
alternately N times (A B A B) and reports the median, the honest way on a noisy machine.
Measure on the target machine in one run: absolute times drift, ratios don't.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks")]

from _measure import TreeMemory  # noqa: E402
from sbdk.defaults import DUCKDB_FILE  # noqa: E402

BIN = Path(sys.executable).parent
PHASES = ("start-up", "seed", "run", "test")
AS_OF = "2025-12-31"


def generate(users: int, seed: int, db: Path) -> tuple[int, int, float]:
    """Raw data for ``users`` into ``db``: (raw rows, events, seconds)."""
    import duckdb

    t0 = time.perf_counter()
    subprocess.run([str(BIN / "sbdk"), "generate", "--users", str(users), "--seed", str(seed),
                    "--db", str(db), "--end", AS_OF, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    with duckdb.connect(str(db), read_only=True) as con:
        counts = {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
                  for t in ("raw_users", "raw_events", "raw_orders")}
    return sum(counts.values()), counts["raw_events"], seconds


#: Runs in the measured subprocess: dbt is imported and the project parsed once (start-up),
#: then `dbt seed`, `dbt run` and `dbt test` reuse the manifest, as `sbdk run` and the test
#: harness do; prints the seconds of each phase and of each node as JSON.
DRIVER = """
import json, sys, time
t0 = time.perf_counter()
from dbt.cli.main import dbtRunner
args = json.loads(sys.argv[1])
parsed = dbtRunner().invoke(["parse", *args])
if not parsed.success:
    sys.exit(f"dbt parse failed: {parsed.exception}")
out = {"start-up": time.perf_counter() - t0, "nodes": {}}
for phase in ("seed", "run", "test"):
    t = time.perf_counter()
    result = dbtRunner(manifest=parsed.result).invoke([phase, *args])
    out[phase] = time.perf_counter() - t
    for r in (result.result.results if result.result else []):
        out["nodes"][r.node.unique_id] = r.execution_time
    if not result.success:
        failed = [f"{r.node.name}: {r.message}" for r in (result.result.results if result.result else [])
                  if str(r.status).split(".")[-1].lower() not in ("success", "pass")]
        sys.exit(f"dbt {phase} failed: {result.exception or failed[:3]}")
print(json.dumps(out))
"""


def build(raw: Path, work: Path, limit: str, threads: int) -> dict:
    """Seed, run and test the project on a copy of ``raw``; timings and peak memory."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db = work / DUCKDB_FILE
    shutil.copyfile(raw, db)
    env = {**os.environ, "SBDK_DUCKDB_PATH": str(db), "SBDK_DUCKDB_MEMORY_LIMIT": limit,
           "SBDK_DBT_THREADS": str(threads), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    args = ["--project-dir", str(ROOT), "--profiles-dir", str(ROOT), "--target", "duckdb",
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            "--vars", json.dumps({"as_of_date": AS_OF}), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(args)], env=env, cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    peak = memory.stop()
    if proc.returncode != 0:
        raise SystemExit(f"build failed (limit {limit}, exit {proc.returncode}):\n{out[-3000:]}\n{err[-3000:]}")
    measured = json.loads(out.strip().splitlines()[-1])
    result: dict = {"limit": limit, "peak": peak, "wall": wall, "models": {}, "tests": {},
                    **{p: measured[p] for p in PHASES}}
    for unique_id, seconds in measured["nodes"].items():
        kind, name = unique_id.split(".")[0], unique_id.split(".")[2]
        if kind in ("model", "test"):
            result["models" if kind == "model" else "tests"][name] = seconds
    shutil.rmtree(work)
    return result


def median_of(runs: list[dict]) -> dict:
    """One result with the median of each figure over repeated builds."""
    out = dict(runs[0])
    for key in (*PHASES, "wall", "peak"):
        out[key] = statistics.median(r[key] for r in runs)
    for kind in ("models", "tests"):
        out[kind] = {n: statistics.median(r[kind][n] for r in runs) for n in runs[0][kind]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000],
                        help="sizes in users, about 10 events each (default 1 M, 3 M, 10 M)")
    parser.add_argument("--limits", nargs="+", default=["none", "3GB"],
                        help="DuckDB memory limits to build each size with; `none` for no limit "
                             "(default: none 3GB)")
    parser.add_argument("--threads", type=int, default=2, help="dbt threads (default 2)")
    parser.add_argument("--repeat", type=int, default=1, help="builds per limit, alternated (default 1)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="folder for the data files (default: a temporary folder, removed after)")
    args = parser.parse_args(argv)

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="sbdk-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    try:
        for users in args.users:
            raw = work / f"raw_{users}.duckdb"
            rows, events, gen_s = generate(users, args.seed, raw)
            print(f"{users:,} users: {rows:,} raw rows ({events:,} events) generated in {gen_s:.1f} s", flush=True)
            runs: dict[str, list[dict]] = {limit: [] for limit in args.limits}
            for _ in range(args.repeat):
                for limit in args.limits:
                    r = build(raw, work / "build", limit, args.threads)
                    runs[limit].append(r)
                    print(f"  limit {limit:>6}: wall {r['wall']:7.1f} s (start-up {r['start-up']:.1f}, seed "
                          f"{r['seed']:.1f}, run {r['run']:.1f}, test {r['test']:.1f}); peak RSS "
                          f"{r['peak'] / 2**30:.2f} GB", flush=True)
            for limit in args.limits:
                results.append({**median_of(runs[limit]), "users": users, "rows": rows, "events": events})
            raw.unlink()
            Path(f"{raw}.lock").unlink(missing_ok=True)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)

    report(results)
    return 0


def report(results: list[dict]) -> None:
    print(f"\n{'users':>11} {'events':>12} {'limit':>6} {'wall s':>8} {'run s':>7} {'test s':>7} {'test %':>7} "
          f"{'peak GB':>8} {'rows/s':>10} {'x prev size':>12} {'x first limit':>14}")
    previous: dict[str, dict] = {}
    first: dict[int, dict] = {}
    for r in results:
        prev = previous.get(r["limit"])
        base = first.setdefault(r["users"], r)
        growth = f"{r['wall'] / prev['wall']:.2f}/{r['events'] / prev['events']:.2f}" if prev else "-"
        print(f"{r['users']:>11,} {r['events']:>12,} {r['limit']:>6} {r['wall']:8.1f} {r['run']:7.1f} "
              f"{r['test']:7.1f} {100 * r['test'] / r['wall']:6.1f}% {r['peak'] / 2**30:8.2f} "
              f"{r['rows'] / r['wall']:10,.0f} {growth:>12} {r['wall'] / base['wall']:14.2f}")
        previous[r["limit"]] = r
    print("x prev size: wall time ratio / events ratio to the previous size with the same limit; "
          "x first limit: wall time ratio to the first limit of the same size")

    columns = [f"{r['users'] // 1000:,}k {r['limit']}" for r in results]
    width = max(12, *(len(c) + 1 for c in columns))
    for kind, top in (("models", None), ("tests", 8)):
        names = sorted(results[-1][kind], key=results[-1][kind].get, reverse=True)[:top]
        print(f"\n{kind} seconds" + (f" (the {top} slowest of the last build)" if top else ""))
        print(f"{'':<52}" + "".join(f"{c:>{width}}" for c in columns))
        for name in names:
            print(f"{name[:51]:<52}" + "".join(f"{r[kind].get(name, float('nan')):>{width}.1f}" for r in results))


if __name__ == "__main__":
    sys.exit(main())
