"""The package used the way analytics engineers use it: `integration_tests/`, a dbt project
that installs it through packages.yml (`local: ../`), keeps its raw tables in a schema of its
own, builds a model on top of the package's and has models of its own named like the
package's (stg_users, stg_events, user_metrics, daily_summary), tested with the package's
generic tests. Built on DuckDB and on PostgreSQL (`--engine postgres`).
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

import pytest

from consumer_projects import consumer_warehouse, link_package_files, run_dbt, set_default_target
from sbdk.engines import Engine, PostgresEngine
from sbdk.generate import generate
from sbdk.project import find_project_dir
from warehouse import drop_schemas

pytestmark = [pytest.mark.engines("postgres"), pytest.mark.slow]

PACKAGE_DIR = find_project_dir()
INTEGRATION_TESTS = PACKAGE_DIR / "integration_tests"
#: what dbt reads of the package (dbt_project.yml's paths)
PACKAGE_PATHS = ("dbt_project.yml", "models", "macros", "seeds", "tests")
RAW_SCHEMA = "landing_zone"
#: dbt 1.10 has no flag to keep the package's tests on its own models (see integration_tests/)
NAMES_CAN_CLASH = tuple(int(p) for p in version("dbt-core").split(".")[:2]) >= (1, 11)
CLASH_LINE = ("sbdk: your project's models daily_summary, stg_events, stg_users, user_metrics have the names "
              "of sbdk models, and dbt would run the package's tests on yours: add "
              "`flags: {require_ref_searches_node_package_before_root: true}` to your dbt_project.yml "
              "(dbt 1.11 or later), or rename them")


@dataclass
class Consumer:
    project: Path
    engine: Engine
    schema: str  # the consumer's target schema
    builds: dict[str, subprocess.CompletedProcess]
    env: dict[str, str]  # of dbt (and mf) on this project

    @property
    def sbdk_schema(self) -> str:
        return f"{self.schema}_sbdk"

    def scalar(self, sql: str):
        return self.engine.scalar_row(sql)[0]

    def manifest(self) -> dict:
        return json.loads((self.project / "target" / "manifest.json").read_text())


def _checkout_copy(tmp: Path) -> Path:
    """integration_tests/ as committed, beside links to the package's own files, so that its
    `local: ../` installs this checkout and the run writes nothing into the checkout."""
    root = tmp / "checkout"
    root.mkdir()
    link_package_files(root, PACKAGE_DIR, PACKAGE_PATHS)
    shutil.copytree(INTEGRATION_TESTS, root / "integration_tests",
                    ignore=shutil.ignore_patterns("target", "dbt_packages", "logs", "*.duckdb*", "package-lock.yml"))
    return root / "integration_tests"


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory, engine_name: str, warehouse: Engine | None) -> Consumer:
    tmp = tmp_path_factory.mktemp("consumer")
    project = _checkout_copy(tmp)
    raw = tmp / "raw.duckdb"
    generate(400, db_path=raw, seed=5, schema=RAW_SCHEMA, dirty=0.15)
    engine, env, schema = consumer_warehouse(warehouse, raw, "analytics")
    if isinstance(engine, PostgresEngine):
        drop_schemas(engine, RAW_SCHEMA, schema, f"{schema}_sbdk", f"{schema}_staging")
        engine.load_duckdb_tables(raw, ["raw_users", "raw_events", "raw_orders"], schema=RAW_SCHEMA)
    builds: dict[str, subprocess.CompletedProcess] = {}
    run = lambda *args: run_dbt(project, env, engine_name, *args)  # noqa: E731
    builds["deps"] = run("deps")
    assert builds["deps"].returncode == 0, builds["deps"].stdout[-3000:]
    committed = (project / "dbt_project.yml").read_text()
    if NAMES_CAN_CLASH:
        # the same project without the flag: stopped before anything is built
        (project / "dbt_project.yml").write_text(committed.split("\nflags:")[0])
        builds["without flag"] = run("build")
        (project / "dbt_project.yml").write_text(committed)
    else:
        builds["without flag"] = run("build")  # dbt 1.10: the flag does not exist
        shutil.rmtree(project / "models" / "named_like_sbdk")  # so the consumer renames them
    for step in (("build",), ("source", "freshness"), ("docs", "generate")):
        result = run(*step)
        builds[step[0]] = result
        assert result.returncode == 0, f"dbt {' '.join(step)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
        if step[0] == "build":
            shutil.copy(project / "target" / "run_results.json", project / "build_run_results.json")
    set_default_target(project / "profiles.yml", engine_name)  # for mf
    return Consumer(project, engine, schema, builds, env)


def _relations(consumer: Consumer) -> set[tuple[str, str]]:
    _, rows = consumer.engine.query("select table_schema, table_name from information_schema.tables")
    return {(schema, name) for schema, name in rows}


def test_a_model_named_like_the_packages_stops_the_run_with_one_line(consumer: Consumer) -> None:
    result = consumer.builds["without flag"]
    assert result.returncode != 0
    assert CLASH_LINE in result.stdout, result.stdout[-3000:]
    assert "Completed successfully" not in result.stdout


def test_every_package_node_reads_only_package_nodes(consumer: Consumer) -> None:
    nodes = consumer.manifest()["nodes"]
    package_nodes = {uid: n for uid, n in nodes.items() if n["package_name"] == "sbdk"}
    assert len([n for n in package_nodes.values() if n["resource_type"] == "test"]) >= 50
    depends = [(uid, dep) for uid, n in package_nodes.items() for dep in n.get("depends_on", {}).get("nodes", [])]
    assert len(depends) >= 100
    package_prefixes = ("model.sbdk.", "seed.sbdk.", "source.sbdk.")
    foreign = sorted((uid, dep) for uid, dep in depends if not dep.startswith(package_prefixes))
    assert not foreign, foreign
    own = {n["name"] for n in nodes.values()
           if n["package_name"] == "sbdk_integration_tests" and n["resource_type"] == "model"}
    named_like_sbdk = {"stg_users", "stg_events", "user_metrics", "daily_summary"}
    expected = {"acme_revenue"} | (named_like_sbdk if NAMES_CAN_CLASH else set())
    assert own == expected


def test_the_package_builds_in_its_own_schema_and_the_consumers_models_are_untouched(consumer: Consumer) -> None:
    relations = _relations(consumer)
    manifest = consumer.manifest()
    declared = {n["name"] for n in manifest["nodes"].values()
                if n["package_name"] == "sbdk" and n["resource_type"] in ("model", "seed")}
    assert len(declared) >= 12, sorted(declared)
    built = {name for schema, name in relations if schema == consumer.sbdk_schema}
    assert built == declared | {"sbdk_incremental_state"}, sorted(built ^ (declared | {"sbdk_incremental_state"}))
    assert {name for schema, name in relations if schema == RAW_SCHEMA} == {"raw_users", "raw_events", "raw_orders"}
    own = {name for schema, name in relations if schema == consumer.schema}
    staging = {name for schema, name in relations if schema == f"{consumer.schema}_staging"}
    if NAMES_CAN_CLASH:
        assert (own, staging) == ({"acme_revenue", "user_metrics", "daily_summary"}, {"stg_users", "stg_events"})
        raw_events = consumer.scalar(f"select count(*) from {RAW_SCHEMA}.raw_events")
        # the consumer's own models hold what the consumer wrote, not the package's rows
        assert consumer.scalar(f"select raw_events from {consumer.schema}.daily_summary") == raw_events
        assert consumer.scalar(f"select sum(raw_events) from {consumer.schema}.user_metrics") == raw_events
        assert consumer.scalar(f"select count(*) from {consumer.schema}_staging.stg_users") == \
            consumer.scalar(f"select count(*) from {RAW_SCHEMA}.raw_users")
    else:
        assert (own, staging) == ({"acme_revenue"}, set())
    s = consumer.sbdk_schema
    raw_users = consumer.scalar(f"select count(*) from {RAW_SCHEMA}.raw_users")
    assert consumer.scalar(f"select count(*) from {s}.stg_users") == raw_users
    revenue, users = consumer.engine.scalar_row(f"select revenue, users from {consumer.schema}.acme_revenue")
    assert revenue == consumer.scalar(f"select sum(order_amount) from {s}.stg_orders where data_quality_flag = 'valid'")
    assert users == consumer.scalar(f"select count(*) from {s}.stg_users where data_quality_flag = 'valid'")


def test_source_freshness_reads_the_loaded_at_column(consumer: Consumer) -> None:
    results = {r["unique_id"].split(".")[-1]: r
               for r in json.loads((consumer.project / "target" / "sources.json").read_text())["results"]}
    assert sorted(results) == ["raw_events", "raw_orders", "raw_users"]
    for table, result in results.items():
        newest = consumer.scalar(f"select max(_loaded_at) from {RAW_SCHEMA}.{table}")
        assert datetime.fromisoformat(result["max_loaded_at"].replace("Z", "+00:00")).replace(tzinfo=None) == newest
        age = datetime.now(timezone.utc).replace(tzinfo=None) - newest
        assert result["status"] == ("warn" if age > timedelta(hours=36) else "pass"), (table, result["status"], age)


def test_consumer_build_warns_on_dirty_sources_and_passes_model_tests(consumer: Consumer) -> None:
    log = consumer.builds["build"].stdout
    assert "ERROR=0" in log, log[-3000:]
    assert "WARN=0" not in log, "dirty raw data should make source tests warn"
    # No deprecation warning about the package's code or configuration (dbt 1.10 also
    # says that dbt 1.10 itself is deprecated; that notice is about dbt, not us).
    deprecations = [
        line for line in log.splitlines()
        if "deprecat" in line.lower() and "this version of dbt is deprecated" not in line.lower()
    ]
    assert not deprecations, "\n".join(deprecations)
    results = json.loads((consumer.project / "build_run_results.json").read_text())["results"]
    own_tests = [r for r in results if r["unique_id"].startswith("test.sbdk_integration_tests.")]
    # the consumer's models carry the package's generic tests, and they pass
    assert any(".sbdk_accepted_range_acme_revenue_revenue" in r["unique_id"] for r in own_tests)
    assert own_tests and all(r["status"] == "pass" for r in own_tests), [
        (r["unique_id"], r["status"]) for r in own_tests]


#: source test -> the staging query counting the raw rows it should report
SOURCE_TEST_COUNTS = {
    "sbdk_source_values_parse_raw_raw_users_user_id__id": "select count(*) from {s}.stg_users where user_id is null",
    "sbdk_source_values_parse_raw_raw_users_created_at__timestamp":
        "select count(*) from {s}.stg_users where created_at is null",
    "sbdk_source_values_parse_raw_raw_events_event_id__id":
        "select count(*) from {s}.stg_events where event_id is null",
    "sbdk_source_values_parse_raw_raw_events_user_id__id":
        "select count(*) from {s}.stg_events where user_id is null",
    "sbdk_source_values_parse_raw_raw_events__timestamp___timestamp":
        "select count(*) from {s}.stg_events where event_timestamp is null",
    "sbdk_source_values_parse_raw_raw_orders_order_id__id":
        "select count(*) from {s}.stg_orders where order_id is null",
    "sbdk_source_values_parse_raw_raw_orders_created_at__timestamp":
        "select count(*) from {s}.stg_orders where ordered_at is null",
    "sbdk_source_values_parse_raw_raw_orders_amount__amount":
        "select count(*) from {s}.stg_orders where order_amount is null",
}


def test_source_tests_warn_with_the_number_of_offending_rows(consumer: Consumer) -> None:
    results = json.loads((consumer.project / "build_run_results.json").read_text())["results"]
    by_name = {r["unique_id"].split(".")[2]: r for r in results if r["unique_id"].startswith("test.sbdk.")}
    s = consumer.sbdk_schema
    warned = []
    for name, query in SOURCE_TEST_COUNTS.items():
        assert name in by_name, f"source test {name} did not run; ran: {sorted(by_name)}"
        result = by_name[name]
        expected = consumer.scalar(query.format(s=s))
        warned.append(expected > 0)
        status = "warn" if expected else "pass"
        got = (result["status"], result["failures"])
        assert got == (status, expected), f"{name}: got {got}, expected {(status, expected)}"
    # one warning row per raw table and flag, counted here from the staging rows
    flagged = consumer.scalar(
        f"select count(*) from (select distinct 'users', data_quality_flag from {s}.stg_users "
        f"union select distinct 'events', data_quality_flag from {s}.stg_events "
        f"union select distinct 'orders', data_quality_flag from {s}.stg_orders) as flags "
        "where data_quality_flag <> 'valid'"
    )
    raw_dupes = consumer.scalar(
        f"select count(*) from (select user_id from {RAW_SCHEMA}.raw_users where user_id is not null "
        "group by user_id having count(*) > 1) as dupes"
    )
    assert sum(warned) >= 6, "the dirty data should make most source tests warn"
    assert raw_dupes and flagged >= 10, "the dirty data should have duplicate users and most flags"
    summary = by_name["raw_rows_flagged_in_staging"]
    assert (summary["status"], summary["failures"]) == ("warn", flagged)
    model_tests = [r for r in results if r["unique_id"].startswith("test.sbdk.") and "source" not in r["unique_id"]
                   and r["unique_id"] != "test.sbdk.raw_rows_flagged_in_staging"]
    assert model_tests and all(r["status"] == "pass" for r in model_tests), [
        (r["unique_id"], r["status"]) for r in model_tests if r["status"] != "pass"
    ]


def test_docs_describe_every_model_and_column(consumer: Consumer) -> None:
    manifest = consumer.manifest()
    catalog = json.loads((consumer.project / "target" / "catalog.json").read_text())
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


def _mf(consumer: Consumer, *args: str) -> subprocess.CompletedProcess:
    """`mf <args>` in the consumer's project: its profiles.yml, and the semantic manifest its build wrote."""
    mf = Path(sys.executable).with_name("mf")
    done = subprocess.run([str(mf), *args], cwd=consumer.project, env=consumer.env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"mf {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.metricflow
def test_the_consumer_lists_and_queries_the_packages_metrics(consumer: Consumer) -> None:
    """The package's metrics come with `dbt deps`, beside the consumer's own (models/_metrics.yml,
    a ratio of two package metrics); both query the package's models in their schema."""
    listed = _mf(consumer, "list", "metrics").stdout
    assert "sbdk_revenue" in listed and "sbdk_signup_to_order_30d" in listed and "acme_revenue_per_signup" in listed
    out = consumer.project / "metrics.csv"
    _mf(consumer, "query", "--metrics", "sbdk_revenue,sbdk_orders,sbdk_signups,acme_revenue_per_signup",
        "--group-by", "metric_time__month", "--csv", str(out))
    with out.open(newline="") as fh:
        rows = {r["metric_time__month"][:10]: r for r in csv.DictReader(fh)}
    s = consumer.sbdk_schema
    _, expected = consumer.engine.query(
        f"select cast(date_trunc('month', report_date) as date), sum(daily_revenue), sum(total_orders), "
        f"sum(new_signups) from {s}.daily_summary group by 1 having sum(total_orders) + sum(new_signups) > 0")
    assert len(expected) >= 3, expected
    assert sorted(rows) == sorted(str(month) for month, *_ in expected)
    for month, revenue, orders, signups in expected:
        row = rows[str(month)]
        orders, signups = int(orders), int(signups)  # numeric sums on PostgreSQL
        assert (Decimal(row["sbdk_revenue"]), int(row["sbdk_orders"]), int(row["sbdk_signups"])) == (
            Decimal(revenue), orders, signups), (month, row)
        ratio = float(row["acme_revenue_per_signup"]) if row["acme_revenue_per_signup"] else None
        assert ratio == (pytest.approx(float(revenue) / signups, rel=1e-9) if signups else None), (month, row)
