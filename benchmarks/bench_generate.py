"""Benchmark the synthetic data generator end to end (all three tables, into a DuckDB file).

    python benchmarks/bench_generate.py                 # 1,000,000 users, clean
    python benchmarks/bench_generate.py --users 200000 --dirty 0.05
    python benchmarks/bench_generate.py --check         # exit 1 below the targets

Targets (clean mode, 1M users, 2 cores): >= 750,000 raw rows/s and peak RSS < 2 GB.
Runs in this process (no subprocess), so ``ru_maxrss`` is the peak of the whole run.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from datetime import date
from pathlib import Path

try:
    from sbdk.generate import generate
except ModuleNotFoundError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from sbdk.generate import generate

TARGET_ROWS_PER_S = 750_000
TARGET_PEAK_MB = 2048


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dirty", type=float, default=0.0)
    ap.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    ap.add_argument("--end", type=date.fromisoformat, default=date(2025, 12, 31))
    ap.add_argument("--progress", action="store_true")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sbdk-bench-") as tmp:
        db = Path(tmp) / "bench.duckdb"
        result = generate(
            args.users,
            db_path=db,
            seed=args.seed,
            start=args.start,
            end=args.end,
            dirty=args.dirty,
            progress=args.progress,
        )
        file_mb = db.stat().st_size / 2**20

    total = sum(result.row_counts.values())
    rate = total / result.seconds if result.seconds else float("inf")
    peak = peak_rss_mb()
    print(f"users          {args.users:>14,}  (dirty={args.dirty})")
    for table, n in result.row_counts.items():
        print(f"{table:<14} {n:>14,}")
    print(f"total rows     {total:>14,}")
    print(f"seconds        {result.seconds:>14.2f}")
    print(f"rows/s         {rate:>14,.0f}   (target >= {TARGET_ROWS_PER_S:,})")
    print(f"peak RSS MB    {peak:>14,.0f}   (target < {TARGET_PEAK_MB:,})")
    print(f"file MB        {file_mb:>14,.0f}")
    if args.check and (rate < TARGET_ROWS_PER_S or peak >= TARGET_PEAK_MB):
        print("target missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
