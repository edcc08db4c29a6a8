"""Metric queries through MetricFlow against the equivalent hand-written SQL over the marts (DuckDB).

Builds the quick start's job at scale (`sbdk run --users N`, default 1 M users, about 10 M
events), then for each query below times, alternately (A B A B, `--repeat` pairs):

- A: the SQL MetricFlow writes for the metric query (planned in this process from the parsed
  project's semantic manifest, as `mf query` plans it), run on the built file;
- B: hand-written SQL giving the same numbers from the marts (daily_summary, user_metrics).

MetricFlow reads the semantic models (valid_events, valid_orders: views over staging;
user_metrics), so a metric query aggregates rows that the marts hold pre-aggregated: the
ratio A / B is what answering a new question through the metrics layer costs against a mart
someone wrote for it. Also printed: the time MetricFlow takes to plan each query, and the wall
time of one `mf query` command (start-up, dbt's project checks, planning, the query).
The results of A and B must be equal, or the script exits 1.

    python benchmarks/bench_metrics.py                    # 1 M users
    python benchmarks/bench_metrics.py --users 100000 --repeat 5

It is not part of the test suite. Measure on the target machine in one run: absolute times
drift, ratios don't.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "python_tests")]

BIN = Path(sys.executable).parent

#: (name, metrics, group-bys, hand-written SQL over the marts giving the same columns, in that order)
QUERIES = (
    ("revenue, orders, AOV per month", ("sbdk_revenue", "sbdk_orders", "sbdk_average_order_value"),
     ("metric_time__month",),
     """select cast(date_trunc('month', report_date) as date) as month, sum(daily_revenue), sum(total_orders),
               sum(daily_revenue) / nullif(sum(total_orders), 0)
        from main.daily_summary group by 1 having sum(total_orders) > 0"""),
    ("active users, sessions, events/session per day",
     ("sbdk_active_users", "sbdk_sessions", "sbdk_events_per_session"), ("metric_time__day",),
     """select report_date, active_users, total_sessions, avg_events_per_session
        from main.daily_summary where total_events > 0"""),
    ("revenue and buyers by country", ("sbdk_revenue", "sbdk_buyers"), ("sbdk_user__country_code",),
     """select country_code, sum(total_revenue), count(*) filter (where total_orders > 0)
        from main.user_metrics group by 1 having sum(total_orders) > 0"""),
)


def _canonical(rows: list[tuple]) -> list[tuple]:
    def value(v):
        if hasattr(v, "date") and callable(v.date):
            return v.date()
        if isinstance(v, float):
            return round(v, 6)
        if isinstance(v, Decimal):
            return round(float(v), 6)
        return v
    return sorted((tuple(value(v) for v in row) for row in rows), key=repr)


def _time(conn, sql: str) -> tuple[float, list[tuple]]:
    t0 = time.perf_counter()
    rows = conn.execute(sql).fetchall()
    return time.perf_counter() - t0, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="A B pairs per query (default 3)")
    args = parser.parse_args(argv)

    import duckdb
    from dbt.cli.main import dbtRunner

    from consumer_projects import link_package_files
    from metricflow_queries import PackageMetrics

    with tempfile.TemporaryDirectory(prefix="sbdk-bench-metrics-") as tmp:
        work = Path(tmp)
        db = work / "sbdk.duckdb"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SBDK_", "DBT_"))}
        env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        t0 = time.perf_counter()
        built = subprocess.run([str(BIN / "sbdk"), "run", "--users", str(args.users), "--db", str(db), "--no-progress"],
                               env=env, capture_output=True, text=True)
        if built.returncode != 0:
            print(built.stdout[-3000:], built.stderr[-3000:])
            return 1
        print(f"sbdk run --users {args.users:,}: {time.perf_counter() - t0:.1f} s")

        os.environ["SBDK_DUCKDB_PATH"] = str(db)
        parsed = dbtRunner().invoke(["parse", "--project-dir", str(ROOT), "--profiles-dir", str(ROOT),
                                     "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
                                     "--quiet"])
        if not parsed.success:
            print(parsed.exception)
            return 1
        metrics = PackageMetrics(parsed.result, "duckdb")

        failed = False
        with duckdb.connect(str(db), read_only=True) as conn:
            events = conn.execute("select count(*) from main.valid_events").fetchone()[0]
            print(f"valid events {events:,}; {args.repeat} A B pairs per query\n")
            print(f"{'query':<48} {'plan':>7} {'A: metric':>10} {'B: marts':>9} {'A / B':>7}")
            for name, names, group_by, hand_sql in QUERIES:
                t0 = time.perf_counter()
                sql = metrics.sql(names, group_by)
                plan = time.perf_counter() - t0
                a_times, b_times = [], []
                for _ in range(args.repeat):
                    a, a_rows = _time(conn, sql)
                    b, b_rows = _time(conn, hand_sql)
                    a_times.append(a)
                    b_times.append(b)
                a_med, b_med = statistics.median(a_times), statistics.median(b_times)
                same = _canonical(a_rows) == _canonical(b_rows)
                failed |= not same
                print(f"{name:<48} {plan * 1000:5.0f} ms {a_med * 1000:7.0f} ms {b_med * 1000:6.0f} ms "
                      f"{a_med / b_med if b_med else math.inf:6.1f}x" + ("" if same else "  RESULTS DIFFER"))

        # one `mf query` command, as a user runs it (needs target/semantic_manifest.json in the project)
        project = work / "project"
        project.mkdir()
        link_package_files(project, ROOT)
        (project / "target").symlink_to(work / "target")
        name, names, group_by, _ = QUERIES[0]
        t0 = time.perf_counter()
        cli = subprocess.run([str(BIN / "mf"), "query", "--metrics", ",".join(names), "--group-by", ",".join(group_by)],
                             cwd=project, env={**env, "SBDK_DUCKDB_PATH": str(db)}, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        print(f"\n`mf query` ({name}): {wall:.1f} s wall, exit {cli.returncode}")
        failed |= cli.returncode != 0
    if failed:
        print("error: a metric query and its hand-written SQL differ, or mf failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
