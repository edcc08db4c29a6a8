"""Benchmark of the SQL harness. Prints:

- parse time of the dbt project (what each xdist worker pays once);
- the marginal cost of one scenario after the parse (load raw rows + dbt build with
  every data test), median of several scenarios;
- a plain `dbt build` from the command line on the same data, for comparison;
- the wall time of the whole test suite with 2 workers (`pytest -n 2 --slow`), unless --no-suite.

Measure on the target machine in one run; absolute times drift, ratios don't.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "python_tests"), str(ROOT / "src")]

from harness import HARNESS_BUILD_ARGS, HARNESS_DBT_ARGS, HARNESS_VARS, assert_build_ok, build_scenario  # noqa: E402
from sbdk.defaults import DUCKDB_FILE  # noqa: E402
from sbdk.engines import DuckDBEngine  # noqa: E402
from test_scenarios import SCENARIOS, load_scenario_raw  # noqa: E402
from warehouse import HarnessProject  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", type=int, default=7, help="scenarios to time (default 7)")
    parser.add_argument("--no-suite", action="store_true", help="skip timing the whole suite")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sbdk-bench-"))
    project = HarnessProject(work / "dbt", HARNESS_VARS, extra_args=HARNESS_DBT_ARGS, build_args=HARNESS_BUILD_ARGS)
    t0 = time.perf_counter()
    project.parse()
    parse_s = time.perf_counter() - t0
    print(f"parse (once per worker):            {parse_s:6.2f} s")

    folders = SCENARIOS[: args.scenarios]
    costs = []
    for i, folder in enumerate(folders):
        t0 = time.perf_counter()
        (work / f"s{i}").mkdir()
        scenario = build_scenario(project, DuckDBEngine(work / f"s{i}" / DUCKDB_FILE), load_scenario_raw(folder))
        costs.append(time.perf_counter() - t0)
        assert_build_ok(scenario)
    median = statistics.median(costs)
    print(f"marginal scenario (load + build + tests), median of {len(costs)}: {median:6.2f} s "
          f"(min {min(costs):.2f}, max {max(costs):.2f}; {scenario.outcome.passed} nodes passed)")

    # The same build as a plain command line, for comparison.
    db = work / "cli" / DUCKDB_FILE
    db.parent.mkdir()
    build_scenario(project, DuckDBEngine(db), load_scenario_raw(folders[0]))
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "SBDK_DUCKDB_PATH": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    t0 = time.perf_counter()
    subprocess.run([str(dbt), "build", "--project-dir", str(ROOT), "--profiles-dir", str(ROOT),
                    "--target-path", str(work / "cli-target"), "--log-path", str(work / "cli-logs"),
                    "--vars", f'{{"as_of_date": "{HARNESS_VARS["as_of_date"]}"}}', "--quiet"],
                   env=env, check=True, capture_output=True)
    cli_s = time.perf_counter() - t0
    print(f"plain `dbt build` command line:     {cli_s:6.2f} s  (in-process is {cli_s / median:.1f}x faster)")

    if not args.no_suite:
        t0 = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider", "--slow"],
                                cwd=ROOT, capture_output=True, text=True)
        suite_s = time.perf_counter() - t0
        last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "?"
        print(f"whole suite, 2 workers:             {suite_s:6.1f} s  ({last})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
