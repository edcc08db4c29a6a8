"""The package used the way analytics engineers use it: from another dbt project
through packages.yml (`local:`), raw tables in a schema of that project's choosing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from sbdk.generate import generate
from sbdk.project import find_project_dir

PACKAGE_DIR = find_project_dir()


def _dbt(project: Path, *args: str) -> subprocess.CompletedProcess:
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("consumer")
    warehouse = project / "warehouse.duckdb"
    generate(400, db_path=warehouse, seed=5, schema="landing_zone", dirty=0.15)
    (project / "dbt_project.yml").write_text(
        "name: acme_analytics\nversion: '1.0.0'\nconfig-version: 2\nprofile: acme\n"
        "vars:\n  sbdk_raw_schema: landing_zone\n  as_of_date: '2025-12-31'\n"
    )
    (project / "packages.yml").write_text(f"packages:\n  - local: {PACKAGE_DIR}\n")
    (project / "profiles.yml").write_text(
        "acme:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {warehouse}\n      threads: 2\n"
    )
    (project / "models").mkdir()
    (project / "models" / "acme_revenue.sql").write_text(
        "select sum(total_revenue) as revenue from {{ ref('user_metrics') }}\n"
    )
    for step in (("deps",), ("build",), ("docs", "generate")):
        result = _dbt(project, *step)
        assert result.returncode == 0, f"dbt {' '.join(step)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
        (project / f"dbt_{step[0]}.log").write_text(result.stdout)
        if step == ("build",):
            shutil.copy(project / "target" / "run_results.json", project / "build_run_results.json")
    return project


def test_consumer_builds_every_sbdk_model_from_its_own_schema(consumer: Path) -> None:
    with duckdb.connect(str(consumer / "warehouse.duckdb"), read_only=True) as conn:
        relations = {
            (schema, name)
            for schema, name in conn.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        built = {name for schema, name in relations if schema == "main"}
        # what the package declares: its models and seeds, read from the consumer's manifest
        manifest = json.loads((consumer / "target" / "manifest.json").read_text())
        declared = {n["name"] for n in manifest["nodes"].values()
                    if n["package_name"] == "sbdk" and n["resource_type"] in ("model", "seed")}
        assert len(declared) >= 12, f"the manifest lists too few sbdk models and seeds: {sorted(declared)}"
        # and the state of its incremental models (docs/incremental.md), under its own prefix
        expected = declared | {"acme_revenue", "sbdk_incremental_state"}
        assert built == expected, f"unexpected relations in the consumer's warehouse: {sorted(built ^ expected)}"
        raw = {name for schema, name in relations if schema == "landing_zone"}
        assert raw == {"raw_users", "raw_events", "raw_orders"}
        raw_users = conn.execute("select count(*) from landing_zone.raw_users").fetchone()[0]
        staged = conn.execute("select count(*) from main.stg_users").fetchone()[0]
        assert staged == raw_users
        revenue = conn.execute("select revenue from main.acme_revenue").fetchone()[0]
        valid = conn.execute(
            "select sum(order_amount) from main.stg_orders where data_quality_flag = 'valid'"
        ).fetchone()[0]
        assert revenue == valid


def test_consumer_build_warns_on_dirty_sources_and_passes_model_tests(consumer: Path) -> None:
    log = (consumer / "dbt_build.log").read_text()
    assert "ERROR=0" in log, log[-3000:]
    assert "WARN=0" not in log, "dirty raw data should make source tests warn"
    # No deprecation warning about the package's code or configuration (dbt 1.10 also
    # says that dbt 1.10 itself is deprecated; that notice is about dbt, not us).
    deprecations = [
        line for line in log.splitlines()
        if "deprecat" in line.lower() and "this version of dbt is deprecated" not in line.lower()
    ]
    assert not deprecations, "\n".join(deprecations)


#: source test -> the staging query counting the raw rows it should report
SOURCE_TEST_COUNTS = {
    "sbdk_source_values_parse_raw_raw_users_user_id__id": "select count(*) from main.stg_users where user_id is null",
    "sbdk_source_values_parse_raw_raw_users_created_at__timestamp":
        "select count(*) from main.stg_users where created_at is null",
    "sbdk_source_values_parse_raw_raw_events_event_id__id":
        "select count(*) from main.stg_events where event_id is null",
    "sbdk_source_values_parse_raw_raw_events_user_id__id":
        "select count(*) from main.stg_events where user_id is null",
    "sbdk_source_values_parse_raw_raw_events__timestamp___timestamp":
        "select count(*) from main.stg_events where event_timestamp is null",
    "sbdk_source_values_parse_raw_raw_orders_order_id__id":
        "select count(*) from main.stg_orders where order_id is null",
    "sbdk_source_values_parse_raw_raw_orders_created_at__timestamp":
        "select count(*) from main.stg_orders where ordered_at is null",
    "sbdk_source_values_parse_raw_raw_orders_amount__amount":
        "select count(*) from main.stg_orders where order_amount is null",
}


def test_source_tests_warn_with_the_number_of_offending_rows(consumer: Path) -> None:
    results = json.loads((consumer / "build_run_results.json").read_text())["results"]
    by_name = {r["unique_id"].split(".")[2]: r for r in results if r["unique_id"].startswith("test.sbdk.")}
    warned = []
    with duckdb.connect(str(consumer / "warehouse.duckdb"), read_only=True) as conn:
        for name, query in SOURCE_TEST_COUNTS.items():
            assert name in by_name, f"source test {name} did not run; ran: {sorted(by_name)}"
            result = by_name[name]
            expected = conn.execute(query).fetchone()[0]
            warned.append(expected > 0)
            status = "warn" if expected else "pass"
            got = (result["status"], result["failures"])
            assert got == (status, expected), f"{name}: got {got}, expected {(status, expected)}"
        # one warning row per raw table and flag, counted here from the staging rows
        flagged = conn.execute(
            "select count(*) from (select distinct 'users', data_quality_flag from main.stg_users "
            "union select distinct 'events', data_quality_flag from main.stg_events "
            "union select distinct 'orders', data_quality_flag from main.stg_orders) where data_quality_flag <> 'valid'"
        ).fetchone()[0]
        raw_dupes = conn.execute(
            "select count(*) from (select user_id from landing_zone.raw_users where user_id is not null "
            "group by user_id having count(*) > 1)"
        ).fetchone()[0]
    assert sum(warned) >= 6, "the dirty data should make most source tests warn"
    assert raw_dupes and flagged >= 10, "the dirty data should have duplicate users and most flags"
    summary = by_name["raw_rows_flagged_in_staging"]
    assert (summary["status"], summary["failures"]) == ("warn", flagged)
    model_tests = [r for r in results if r["unique_id"].startswith("test.sbdk.") and "source" not in r["unique_id"]
                   and r["unique_id"] != "test.sbdk.raw_rows_flagged_in_staging"]
    assert model_tests and all(r["status"] == "pass" for r in model_tests), [
        (r["unique_id"], r["status"]) for r in model_tests if r["status"] != "pass"
    ]


def test_docs_describe_every_model_and_column(consumer: Path) -> None:
    manifest = json.loads((consumer / "target" / "manifest.json").read_text())
    catalog = json.loads((consumer / "target" / "catalog.json").read_text())
    missing = []
    for node in manifest["nodes"].values():
        if node["package_name"] != "sbdk" or node["resource_type"] not in ("model", "seed"):
            continue
        if not node["description"].strip():
            missing.append(node["name"])
        built_columns = catalog["nodes"][node["unique_id"]]["columns"]
        for column in built_columns:
            if not node["columns"].get(column.lower(), {}).get("description", "").strip():
                missing.append(f"{node['name']}.{column}")
    assert not missing, f"no description for: {missing}"
