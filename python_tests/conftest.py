"""Fixtures of the SQL harness.

dbt keeps global state per process, so every xdist worker parses the project
once (`dbt_project`) and each test builds into its own DuckDB file named
sbdk.duckdb in a fresh folder, reusing the parsed manifest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sbdk.project import DbtProject

#: The reference date of every harness build (scenarios are written against it).
HARNESS_AS_OF_DATE = "2025-12-31"
HARNESS_VARS = {"as_of_date": HARNESS_AS_OF_DATE}
#: dbt options of every harness invocation: no debug log file (the outcome object
#: carries every error), no JSON artifacts rewritten after each build, and one
#: dbt thread (dbt's per-node work is Python-bound, and xdist already runs one
#: worker per core; measured: 1 thread is as fast as 2-6 on a 2-core machine).
HARNESS_DBT_ARGS = ["--log-level-file", "none", "--no-write-json", "--threads", "1"]
#: Scenario builds leave out the checks whose outcome cannot depend on a
#: scenario's assertions: the source tests only warn (they describe the raw
#: data), and the seed tests check the package's own mapping CSVs, the same in
#: every scenario. Both run in full in test_package_consumer.py, where the
#: warnings' row counts are checked.
HARNESS_BUILD_ARGS = ["--exclude", "tag:sbdk_source_checks", "tag:sbdk_seed_checks"]

_projects: dict[str, DbtProject] = {}


@pytest.fixture(scope="session")
def dbt_project(tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    """The package parsed once per worker with the harness vars."""
    return project_for(tmp_path_factory, HARNESS_VARS)


def project_for(tmp_path_factory: pytest.TempPathFactory, dbt_vars: dict) -> DbtProject:
    """A parsed project per distinct set of vars (vars are parse-time inputs)."""
    import json

    key = json.dumps(dbt_vars, sort_keys=True)
    if key not in _projects:
        work = tmp_path_factory.mktemp("dbt")
        project = DbtProject(work, dbt_vars, extra_args=HARNESS_DBT_ARGS, build_args=HARNESS_BUILD_ARGS)
        project.parse()
        _projects[key] = project
    return _projects[key]


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    return tmp_path / "scenario"
