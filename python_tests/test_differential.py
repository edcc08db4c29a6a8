"""Differential test: the dbt models against an independent pure-Python
implementation of the contract (python_tests/reference), on generated data,
clean and dirty, for several seeds and sizes."""

from __future__ import annotations

from datetime import date

import pytest

from harness import (
    HARNESS_AS_OF_DATE,
    assert_all,
    assert_build_ok,
    assert_invariants,
    assert_rows_equal,
    build_scenario,
    models_built,
    read_raw_rows,
)
from reference.contract import compute
from sbdk._expected import expected_flags_for_file
from sbdk.generate import generate

AS_OF = date.fromisoformat(HARNESS_AS_OF_DATE)
ALL = ("postgres", "spark")
DATASETS = [
    # (seed, users, dirty, other engines it runs on): one dirty dataset on Spark, where
    # every build costs minutes; every dataset on PostgreSQL
    (11, 400, 0.0, ("postgres",)),
    (12, 2500, 0.0, ("postgres",)),
    (13, 1500, 0.08, ALL),
    (14, 3000, 0.03, ("postgres",)),
    (15, 600, 0.3, ("postgres",)),
]


@pytest.mark.parametrize(
    ("seed", "users", "dirty"),
    [pytest.param(s, u, d, id=f"seed{s}-{u}users-dirty{d}", marks=pytest.mark.engines(*e)) for s, u, d, e in DATASETS],
)
def test_models_match_reference_implementation(dbt_project, engine, tmp_path, seed: int, users: int,
                                               dirty: float) -> None:
    raw_file = tmp_path / "generated.duckdb"
    generate(users, db_path=raw_file, seed=seed, end=AS_OF, dirty=dirty)
    scenario = build_scenario(dbt_project, engine, copy_raw_from=raw_file)
    checks = [lambda: assert_build_ok(scenario)]
    if models_built(scenario):
        expected = compute(read_raw_rows(raw_file), AS_OF)
        checks.append(lambda: assert_invariants(scenario))
        checks += [
            lambda model=model, rows=rows: _compare(scenario, model, rows) for model, rows in expected.items()
        ]
    assert_all(f"seed {seed}, {users} users, dirty {dirty}", checks)

    # The contract's flags of the generated rows (computed independently) match what staging assigns.
    summary = {
        (r["source_table"], r["data_quality_flag"]): r["row_count"] for r in scenario.rows("data_quality_summary")
    }
    expected_flags = expected_flags_for_file(raw_file, "raw", AS_OF)
    flags = {(t, f): n for t, per_flag in expected_flags.items() for f, n in per_flag.items()}
    assert summary == flags, f"expected flags {flags} != data_quality_summary {summary}"
    if dirty:
        assert len({f for (_, f) in summary}) >= 8, f"dirty data should exercise every flag, got {summary}"


def _compare(scenario, model: str, expected_rows: list[dict]) -> None:
    columns = [c for c in (expected_rows[0] if expected_rows else {}) if c != "dbt_updated_at"] or None
    assert_rows_equal(model, expected_rows, scenario.rows(model), key=scenario.key(model), columns=columns)
