"""Arrival scenarios as data: every folder under arrivals/ is one case of SPEC.md's
"Incremental builds", the raw rows arriving in numbered batches (see arrivals/README.md).

A case folder holds batch folders `1`, `2`, ... Each batch folder holds the raw rows that
arrive in it (`raw_users.csv`, `raw_events.csv`, `raw_orders.csv`, read as in scenarios/; a
missing file: nothing arrives in that table), an optional `vars.json` (dbt vars from that batch
on, e.g. `as_of_date`; run-time vars only: the project is parsed once), `expected/<model>.csv`:
hand-computed rows of the model after the ordinary (incremental) `dbt build` that follows the
batch, on the columns the CSV lists, and optionally `kept.json`: for each model named, a SQL
condition on its rows that the build must not rewrite (same rows, `dbt_updated_at` included),
which shows the build was incremental and what it did not reprocess.

Every row is stamped in `_loaded_at` with its batch's load time. After each batch's build:
the build has no error and no failing test, every expected CSV holds, and every model equals
the reference implementation on the raw rows loaded so far. A batch with nothing new and the
vars unchanged must change no row, `dbt_updated_at` included.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from harness import (
    HARNESS_VARS,
    RAW_TABLES,
    assert_all,
    assert_equals_reference,
    assert_rows_equal,
    csv_header,
    expected_from_csv,
    project_facts,
    read_csv_rows,
    read_rows,
    text_tables,
)
from sbdk.engines import MODEL_SCHEMA
from warehouse import load_raw

ARRIVALS_DIR = Path(__file__).parent / "arrivals"
CASES = sorted(p for p in ARRIVALS_DIR.iterdir() if p.is_dir())
FIRST_LOAD = datetime(2026, 1, 1, 6)


def _batches(case: Path) -> list[Path]:
    batches = sorted((p for p in case.iterdir() if p.is_dir()), key=lambda p: int(p.name))
    assert [p.name for p in batches] == [str(i) for i in range(1, len(batches) + 1)], (
        f"{case.name}: batch folders must be 1, 2, ... without gaps")
    return batches


def _arriving(batch: Path, number: int) -> dict[str, list[dict]]:
    stamp = (FIRST_LOAD + timedelta(days=number - 1)).isoformat(sep=" ")
    return {
        table: [{**row, "_loaded_at": stamp} for row in read_csv_rows(batch / f"{table}.csv")]
        if (batch / f"{table}.csv").exists() else []
        for table in RAW_TABLES
    }


def _rows_where(engine, model: str, where: str) -> list:
    """A model's rows matching ``where``, dbt_updated_at included, as sorted reprs."""
    rows = engine.rows(f"select * from {MODEL_SCHEMA}.{model} where {where}")
    return sorted(repr(sorted(r.items())) for r in rows)


def _every_row(engine, models) -> dict[str, list]:
    """Every row of every model, dbt_updated_at included, as sorted reprs."""
    return {m: sorted(repr(sorted(r.items())) for r in read_rows(engine, m, exclude=())) for m in models}


@pytest.mark.engines("postgres")
@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_arrival_scenario(case: Path, engine, dbt_project) -> None:
    facts = project_facts(dbt_project)
    models = list(facts.models)
    loaded: dict[str, list[dict]] = {t: [] for t in RAW_TABLES}
    dbt_vars = dict(HARNESS_VARS)
    before = None
    for number, batch in enumerate(_batches(case), start=1):
        arriving = _arriving(batch, number)
        previous_vars = dict(dbt_vars)
        if (batch / "vars.json").exists():
            batch_vars = json.loads((batch / "vars.json").read_text())
            assert not [k for k in batch_vars if k.startswith("sbdk_")], (
                f"{case.name}/{number}/vars.json: the sbdk_* vars are read at parse time")
            dbt_vars.update(batch_vars)
        kept = json.loads((batch / "kept.json").read_text()) if (batch / "kept.json").exists() else {}
        kept_before = {m: _rows_where(engine, m, where) for m, where in kept.items()}
        for table, rows in arriving.items():
            loaded[table] += rows
        load_raw(engine, text_tables(loaded))
        outcome = dbt_project.build(engine, "--vars", json.dumps(dbt_vars, sort_keys=True))
        title = f"{case.name}, after batch {number}"
        errors = [str(e) for e in outcome.errors]
        assert not errors, f"{title}: dbt build failed:\n  " + "\n  ".join(errors)

        checks = []
        nothing_new = not any(arriving.values()) and dbt_vars == previous_vars
        if nothing_new and before is not None:
            def unchanged(before=before):
                after = _every_row(engine, models)
                changed = [m for m in models if after[m] != before[m]]
                assert not changed, f"a batch with nothing new changed rows of {', '.join(changed)}"
            checks.append(unchanged)
        for model, where in kept.items():
            def not_rewritten(model=model, where=where, rows=kept_before[model]):
                assert rows, f"kept.json: no row of {model} where {where} before the build"
                assert _rows_where(engine, model, where) == rows, (
                    f"{model}: the rows where {where} were rewritten, though nothing of theirs changed")
            checks.append(not_rewritten)
        expected_files = sorted((batch / "expected").glob("*.csv"))
        assert expected_files, f"{title}: no expected/*.csv"
        for path in expected_files:
            def hand_computed(path=path):
                actual = read_rows(engine, path.stem)
                key, columns = facts.keys.get(path.stem, ()), csv_header(path)
                expected = expected_from_csv(path, actual)
                assert columns and set(key) <= set(columns), f"{path}: the header must list the key {key}"
                keys = [tuple(r[c] for c in key) for r in expected]
                assert not key or len(set(keys)) == len(keys), f"{path}: a key appears twice"
                assert_rows_equal(path.stem, expected, actual, key=key, columns=columns)
            checks.append(hand_computed)
        checks.append(lambda: assert_equals_reference(
            engine, loaded, date.fromisoformat(dbt_vars["as_of_date"]), "the reference",
            {k: v for k, v in dbt_vars.items() if k != "as_of_date"}))
        assert_all(title, checks)
        before = _every_row(engine, models)

