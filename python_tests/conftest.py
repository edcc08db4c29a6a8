"""Fixtures of the SQL harness.

dbt keeps global state per process, so every xdist worker parses the project
once per set of vars (`dbt_projects`) and each test builds into a fresh
warehouse (`engine`), reusing the parsed manifest:

* DuckDB (the default): a new file named sbdk.duckdb in the test's own folder;
* PostgreSQL (`--engine postgres`): one database per worker on a server the run
  starts itself (or the one named by SBDK_PG_* / PG* variables), its `raw` and
  `main` schemas dropped before each test;
* Spark (`--engine spark`): Spark in local mode inside each worker, its `raw` and
  `main` databases dropped before each test.

With `--engine postgres` or `--engine spark` only the tests marked
`engines(<name>)` run: the SQL-facing ones, against the same expected rows and
the same reference implementation as DuckDB.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness import HARNESS_BUILD_ARGS, HARNESS_DBT_ARGS, HARNESS_VARS
from sbdk.defaults import DUCKDB_FILE
from sbdk.engines import MODEL_SCHEMA, RAW_SCHEMA, DuckDBEngine, Engine, PostgresEngine, SparkEngine
from warehouse import HarnessProject, create_database, drop_schemas


@pytest.fixture(scope="session")
def engine_name(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--engine")


def _worker_id(request: pytest.FixtureRequest) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def warehouse(engine_name: str, request: pytest.FixtureRequest) -> Iterator[Engine | None]:
    """The worker's PostgreSQL database or Spark session (None for DuckDB: a file per test)."""
    if engine_name == "duckdb":
        yield None
    elif engine_name == "postgres":
        yield from _postgres_warehouse(_worker_id(request))
    else:
        base = Path(tempfile.mkdtemp(prefix=f"sbdk-spark-{_worker_id(request)}-"))
        engine = SparkEngine(base, catalog="in-memory", extra_conf=SPARK_TEST_CONF)
        try:
            engine.start()
            yield engine
        finally:
            engine.close()
            import shutil

            shutil.rmtree(base, ignore_errors=True)


#: Spark settings of the test runs, where every table has a few rows: the catalog in memory
#: (each test starts from empty databases anyway) and no generated code (compiling it costs
#: more than it saves on a few rows). Measured on the golden and empty scenarios: 147 s with
#: the Derby metastore and code generation, 71 s in memory, 58 s without code generation.
SPARK_TEST_CONF = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


def _postgres_warehouse(worker: str) -> Iterator[Engine]:
    from sbdk.engines import postgres_settings
    from servers import temporary_postgres

    database = f"sbdk_test_{worker}"
    if os.environ.get("SBDK_PG_HOST") or os.environ.get("PGHOST"):
        engine = PostgresEngine({**postgres_settings(), "DATABASE": database})
        create_database(engine)
        try:
            yield engine
        finally:
            engine.close()
        return
    with temporary_postgres() as settings:
        engine = PostgresEngine({**settings, "DATABASE": database})
        create_database(engine)
        try:
            yield engine
        finally:
            engine.close()


@pytest.fixture
def engine(engine_name: str, warehouse: Engine | None, tmp_path: Path) -> Engine:
    """An empty warehouse for one test's build."""
    if warehouse is None:
        folder = tmp_path / "db"
        folder.mkdir()
        return DuckDBEngine(folder / DUCKDB_FILE)
    drop_schemas(warehouse, RAW_SCHEMA, MODEL_SCHEMA)
    return warehouse


@pytest.fixture(scope="session")
def dbt_projects(
    tmp_path_factory: pytest.TempPathFactory, engine_name: str, warehouse: Engine | None
) -> Callable[[dict], HarnessProject]:
    """The package parsed once per distinct set of vars (vars are parse-time inputs)."""
    projects: dict[str, HarnessProject] = {}

    def project_for(dbt_vars: dict) -> HarnessProject:
        key = json.dumps(dbt_vars, sort_keys=True)
        if key not in projects:
            work = tmp_path_factory.mktemp("dbt")
            project = HarnessProject(work, dbt_vars, extra_args=HARNESS_DBT_ARGS, build_args=HARNESS_BUILD_ARGS,
                                 target=engine_name)
            project.parse(warehouse)
            projects[key] = project
        return projects[key]

    return project_for


@pytest.fixture(scope="session")
def dbt_project(dbt_projects: Callable[[dict], HarnessProject]) -> HarnessProject:
    """The package parsed once per worker with the harness vars."""
    return dbt_projects(HARNESS_VARS)


@pytest.fixture
def cli_in_process() -> Iterator[Callable[..., int]]:
    """``sbdk.cli.main`` called in this process, with what it installs for a command line (its
    Ctrl-C and SIGTERM handler, ``sys.unraisablehook``, ``logging.raiseExceptions``) put back afterwards,
    so the rest of the test session keeps pytest's own."""
    import logging
    import signal
    import sys

    import sbdk._signals
    from sbdk.cli import main

    handlers = {sig: signal.getsignal(sig) for sig in sbdk._signals.STOP_SIGNALS}
    saved = (sys.unraisablehook, logging.raiseExceptions, sbdk._signals._handler)
    try:
        yield main
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        sys.unraisablehook, logging.raiseExceptions, sbdk._signals._handler = saved


@pytest.fixture(scope="session")
def package_metrics(dbt_project: HarnessProject, engine_name: str):
    """MetricFlow over the package's semantic manifest (the worker's parsed manifest), rendering
    SQL for this run's engine (python_tests/metricflow_queries.py)."""
    from metricflow_queries import PackageMetrics

    return PackageMetrics(dbt_project.parse(), engine_name)
