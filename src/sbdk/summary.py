"""What the `sbdk` commands print on stdout: the steps of a run as they finish, the summary
of its result, and what `sbdk generate` wrote, as aligned plain-text tables."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sbdk.arrivals import ArrivalBatch
    from sbdk.generate import GenerateResult
    from sbdk.options import RunSettings
    from sbdk.pipeline import AppendedBatch, GeneratedRaw, RunSummary
    from sbdk.project import BuildOutcome


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Columns aligned, numbers (and ``-``) right-aligned, a rule under the header."""
    cells = [list(map(str, header))] + [list(map(str, r)) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if c[:1].isdigit() or c[:1] == "-" else c.ljust(w)
                         for c, w in zip(r, widths, strict=True)).rstrip()

    return [line(cells[0]), "  ".join("-" * w for w in widths), *map(line, cells[1:])]


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print("\n".join(format_table(header, rows)))


def format_summary(summary: RunSummary) -> list[str]:
    """The summary of a run's result (the same text on every engine)."""
    return [
        "rows per model",
        *format_table(["model", "rows"], [[m, f"{n:,}"] for m, n in summary.model_rows]),
        "",
        f"revenue {summary.revenue:,.2f} from {summary.orders:,} valid orders by {summary.buyers:,} buyers",
        "",
        "users by lifecycle stage",
        *format_table(["stage", "users"], [[s, f"{n:,}"] for s, n in summary.stages]),
        "",
        "data quality",
        *format_table(["raw table", "flag", "rows"], [[t, f, f"{n:,}"] for t, f, n in summary.data_quality]),
    ]


class ConsoleReporter:
    """A `sbdk.pipeline.RunReporter` printing each step of a run on stdout."""

    def generated(self, result: GenerateResult) -> None:
        print(f"generated {result.total_rows:,} raw rows in {result.seconds:.1f} s", flush=True)

    def loaded(self, target: str) -> None:
        print(f"loaded the raw tables into {target}", flush=True)

    def built(self, outcome: BuildOutcome, settings: RunSettings) -> None:
        print(f"dbt build: {outcome.passed} passed, {len(outcome.warnings)} warnings, "
              f"{len(outcome.errors)} errors, {len(outcome.skipped)} skipped in {outcome.seconds:.1f} s "
              f"(target {settings.target}, as_of_date {settings.as_of})")
        for warning in outcome.warnings:
            print(f"  warn: {warning}")

    def summarized(self, summary: RunSummary) -> None:
        print()
        print("\n".join(format_summary(summary)))

    def appended(self, step: AppendedBatch) -> None:
        print(format_appended(step), flush=True)
        for warning in step.outcome.warnings:
            print(f"  warn: {warning}")


def format_appended(step: AppendedBatch) -> str:
    """One line per batch of `sbdk run --append-days`: what arrived, what the build did, and
    its time next to the last full refresh's."""
    batch, outcome = step.batch, step.outcome
    kind = "full refresh" if step.full_refresh else "incremental build"
    if step.last_full_seconds:
        share = 100 * outcome.seconds / step.last_full_seconds
        cost = f"; the last full refresh took {step.last_full_seconds:.1f} s ({share:.0f} %)"
    else:
        cost = "; no full refresh of this result is on record"
    return (f"{batch.day}: {batch.total_rows:,} rows arrived, {step.users_reprocessed:,} users reprocessed; "
            f"{kind} {outcome.passed} passed in {outcome.seconds:.1f} s{cost}")


def print_published(db: Path) -> None:
    print(f"\n{db} now holds this result")


def print_appended(batch: ArrivalBatch, db: Path, schema: str) -> None:
    """What `sbdk generate --append` added."""
    print(f"appended the arrivals of {batch.day} to {db} (schema {schema}), loaded at {batch.loaded_at}: "
          f"{batch.total_rows:,} rows")
    print_table(["table", "rows"], [[t, f"{n:,}"] for t, n in batch.rows.items()])
    print()
    print_table(["kind of row", "rows"], [[k, f"{n:,}"] for k, n in batch.kinds.items()])


def print_generated(generated: GeneratedRaw, db: Path, schema: str) -> None:
    """What `sbdk generate` wrote: rows per table, and the injected cases and the flags
    they should get when data-quality problems were injected."""
    result = generated.result
    rate = result.total_rows / result.seconds if result.seconds else 0
    print(f"wrote {result.total_rows:,} raw rows to {db} (schema {schema}) "
          f"in {result.seconds:.1f} s ({rate / 1e6:.2f} M rows/s)")
    print_table(["table", "rows"], [[t, f"{n:,}"] for t, n in result.row_counts.items()])
    if result.injected:
        print("\ninjected data-quality cases:")
        rows = [[t, case, f"{n:,}"] for t, cases in result.injected.items() for case, n in cases.items()]
        print_table(["table", "case", "rows"], rows)
        print("\nexpected flags:")
        rows = [[t, flag, f"{n:,}"] for t, flags in generated.expected_flags.items() for flag, n in flags.items()]
        print_table(["table", "flag", "rows"], rows)
