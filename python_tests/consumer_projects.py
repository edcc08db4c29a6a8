"""What the tests that use the package from another dbt project (a consumer's) share:
running dbt on such a project, and the warehouse and environment it builds in (a DuckDB
file, or the worker's PostgreSQL database with the consumer's own schema)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sbdk.engines import DuckDBEngine, Engine, PostgresEngine


def run_dbt(project: Path, env: dict[str, str], target: str, *args: str) -> subprocess.CompletedProcess:
    """``dbt <args>`` on ``project`` (its own profiles.yml, target ``target``), in a process of its own."""
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(project), "--profiles-dir", str(project), "--target", target],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )


def consumer_warehouse(warehouse: Engine | None, duckdb_path: Path,
                       pg_schema: str) -> tuple[Engine, dict[str, str], str]:
    """(engine, environment of dbt, the consumer's target schema): on DuckDB the file
    ``duckdb_path`` and schema ``main``; on PostgreSQL ``warehouse`` and ``pg_schema``. No
    SBDK_* or DBT_* variable of the caller reaches dbt."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SBDK_", "DBT_"))}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    if warehouse is None:
        env["SBDK_DUCKDB_PATH"] = str(duckdb_path)
        return DuckDBEngine(duckdb_path), env, "main"
    assert isinstance(warehouse, PostgresEngine)
    env.update(warehouse.dbt_env())
    env["SBDK_PG_SCHEMA"] = pg_schema
    return warehouse, env, pg_schema
