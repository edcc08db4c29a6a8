"""What the tests that use the package from another dbt project (a consumer's) share:
running dbt on such a project, and the warehouse and environment it builds in (a DuckDB
file, or the worker's PostgreSQL database with the consumer's own schema)."""

from __future__ import annotations

import os
import re
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


#: What dbt (and mf) read of a checkout of the package.
PACKAGE_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "seeds", "tests")


def link_package_files(root: Path, package_dir: Path, names: tuple[str, ...] = PACKAGE_FILES) -> None:
    """Links in ``root`` to the package's own files: a copy of the checkout that writes nothing
    into it (its target/ and logs/ are ``root``'s)."""
    for name in names:
        (root / name).symlink_to(package_dir / name)


def set_default_target(profiles: Path, target: str) -> None:
    """Make ``target`` the default target of the one profile in ``profiles`` (profiles.yml): mf
    queries the default target (it has no --target option, and does not read DBT_TARGET).
    A link to the checkout's file is replaced by a copy."""
    text = profiles.read_text()
    changed, count = re.subn(r"^(  target: )\S+$", rf"\g<1>{target}", text, count=1, flags=re.MULTILINE)
    if count != 1:
        raise AssertionError(f"{profiles}: no `  target:` line of a profile to set to {target}")
    profiles.unlink()
    profiles.write_text(changed)
