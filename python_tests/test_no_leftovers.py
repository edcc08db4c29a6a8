"""Whatever the outcome of a test run on PostgreSQL or Spark, a failed test included,
nothing it started outlives it: no server, no JVM, no temporary folder.

The run under test is a nested pytest on a tiny test file that builds a scenario and then
fails on purpose, with its own temporary folder so that what it leaves can be listed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest

TESTS_DIR = Path(__file__).parent

FAILING_TEST = textwrap.dedent('''
    import pytest

    from harness import build_scenario

    @pytest.mark.engines("postgres", "spark")
    def test_fails_after_a_build(dbt_project, engine):
        scenario = build_scenario(dbt_project, engine, {})
        assert scenario.outcome.passed > 0
        assert False, "failing on purpose"
''')


def _children_of_this_run(marker: str) -> list[str]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "environ"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            environ = proc.info["environ"] or {}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if marker in cmdline or environ.get("TMPDIR") == marker:
            found.append(f"{proc.info['pid']}: {cmdline[:200]}")
    return found


@pytest.mark.engines("postgres", "spark", duckdb=False)
def test_a_failing_run_leaves_no_server_jvm_or_temp_folder(
    engine_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # the nested run's temporary folder: reachable by the account a PostgreSQL server runs as
    tmp = Path(tempfile.mkdtemp(prefix="sbdk-leftovers-"))
    tmp.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    test_file = tmp_path / "test_fails_on_purpose.py"
    test_file.write_text(FAILING_TEST)
    env = {**os.environ, "TMPDIR": str(tmp), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for name in [k for k in env if k.startswith(("SBDK_PG_", "PG"))]:
        env.pop(name)  # the nested run starts its own server
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--engine", engine_name,
         "--basetemp", str(tmp_path / "basetemp"), "--confcutdir", str(tmp_path), "--rootdir", str(tmp_path),
         "-p", "engine_option", "-p", "conftest", str(test_file)],
        cwd=tmp_path, env={**env, "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")])},
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "failing on purpose" in result.stdout, result.stdout[-3000:]
    # A process that is exiting when the nested run returns (a server backend being
    # reaped) is not a leftover: give the processes a few seconds to go, then name them.
    deadline = time.monotonic() + 10
    while (left := _children_of_this_run(str(tmp))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], f"processes of the nested run still alive:\n{left}\n{result.stdout[-2000:]}"
    files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))
    assert files == [], f"temporary files left behind: {files[:20]}\n{result.stdout[-2000:]}"
