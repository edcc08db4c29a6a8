"""A real install: the wheel carries the dbt project, so `pip install <wheel>` into a fresh
virtual environment and `sbdk run` in an empty folder outside the checkout work."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs with --slow (engine_option.py)

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str | Path, cwd: Path, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_wheel_runs_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("sbdk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("sbdk/dbt_project/dbt_project.yml", "sbdk/dbt_project/profiles.yml",
                    "sbdk/dbt_project/models/marts/user_metrics.sql", "sbdk/dbt_project/seeds/_seeds.yml",
                    "sbdk/dbt_project/tests/assert_users_reconcile.sql"):
        assert shipped in names, f"{shipped} is not in the wheel"
    assert not any(n.startswith("sbdk/dbt_project/python_tests") for n in names)

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "-c", ROOT / "constraints.txt", wheel,
         cwd=tmp_path)

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SBDK_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    result = _run(venv / "bin" / "sbdk", "run", "--users", "1000", "--quiet", cwd=empty, env=env)
    assert "rows per model" in result.stdout and "revenue " in result.stdout, result.stdout
    assert (empty / "sbdk.duckdb").is_file()
    # the installed command used the project shipped in the wheel, not this checkout
    site = _run(venv / "bin" / "python", "-c", "import sbdk.project as p; print(p.find_project_dir())", cwd=empty,
                env=env).stdout.strip()
    assert site.endswith("site-packages/sbdk/dbt_project"), site
