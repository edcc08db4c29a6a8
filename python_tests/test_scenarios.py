"""Scenarios as data: every folder under scenarios/ is one test case.

A folder holds `raw_users.csv`, `raw_events.csv`, `raw_orders.csv` (all
columns loaded as text; a missing file is an empty table; an empty cell is
null, a quoted blank stays text) and `expected/<model>.csv` with hand-computed
rows, compared on the columns the CSV lists: by the model's key (its `unique`
test in the YAML), or as a multiset for a model keyed only where valid
(staging: e.g. user_id, data_quality_flag).
An optional `vars.json` overrides dbt vars for that scenario.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import (
    HARNESS_VARS,
    RAW_TABLES,
    assert_all,
    assert_build_ok,
    assert_invariants,
    assert_rows_equal,
    build_scenario,
    csv_header,
    expected_from_csv,
    models_built,
    read_csv_rows,
)

SCENARIOS_DIR = Path(__file__).parent / "scenarios"
SCENARIOS = sorted(p for p in SCENARIOS_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))


def load_scenario_raw(folder: Path) -> dict[str, list[dict]]:
    return {
        table: read_csv_rows(folder / f"{table}.csv") if (folder / f"{table}.csv").exists() else []
        for table in RAW_TABLES
    }


@pytest.mark.engines("postgres", "spark")
@pytest.mark.parametrize("folder", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario(folder: Path, engine, dbt_projects) -> None:
    dbt_vars = dict(HARNESS_VARS)
    if (folder / "vars.json").exists():
        dbt_vars.update(json.loads((folder / "vars.json").read_text()))
    project = dbt_projects(dbt_vars)

    expected_files = sorted((folder / "expected").glob("*.csv"))
    assert expected_files, f"{folder.name}: no expected/*.csv"

    scenario = build_scenario(project, engine, load_scenario_raw(folder))
    checks = [lambda: assert_build_ok(scenario)]
    if models_built(scenario):
        checks.append(lambda: assert_invariants(scenario))
        checks += [lambda path=path: _compare_expected(scenario, path) for path in expected_files]
    assert_all(f"scenario {folder.name}", checks)


def _compare_expected(scenario, path: Path) -> None:
    model = path.stem
    actual = scenario.rows(model)
    expected = expected_from_csv(path, actual)
    columns = csv_header(path)
    assert_rows_equal(model, expected, actual, key=scenario.key(model), columns=columns)
