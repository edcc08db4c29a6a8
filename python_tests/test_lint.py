"""Lint: the SQL with sqlfluff's dbt templater (what CI and `tox -e lint` run),
the pre-commit sqlfluff hook's configuration (jinja templater) against bad SQL,
and ruff on the Python code.

sqlfluff and ruff run in subprocesses, as a user runs them, so a failure shows
their own output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sbdk.generate import generate

pytestmark = pytest.mark.slow  # runs with --slow (engine_option.py)

ROOT = Path(__file__).resolve().parents[1]
SQL_DIRS = ("models", "tests")
#: Upper-case keywords and an expression without an alias.
BAD_SQL = """SELECT user_id, COUNT(*)
FROM {{ ref('stg_events') }}
GROUP BY user_id
"""


def _run(args: list[str], *, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _output(result: subprocess.CompletedProcess) -> str:
    return f"exit code {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr[-4000:]}"


@pytest.fixture(scope="module")
def raw_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file with small raw tables: the staging models read the raw
    columns' types when they compile, as under the dbt templater."""
    db = tmp_path_factory.mktemp("lint") / "sbdk.duckdb"
    generate(10, db_path=db, seed=1)
    return db


def test_sql_lints_clean_with_the_dbt_templater(raw_db: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SBDK_DUCKDB_PATH": str(raw_db),
        # Keep dbt's artifacts out of the checkout's target/.
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    result = _run(["sqlfluff", "lint", *SQL_DIRS, "--format", "json", "--disable-progress-bar"], env=env)

    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"sqlfluff lint did not report:\n{_output(result)}")
    violations = [
        f"{entry['filepath']}:{v.get('start_line_no')}:{v.get('start_line_pos')}: {v['code']} {v['description']}"
        for entry in report
        for v in entry["violations"]
    ]
    assert result.returncode == 0 and not violations, (
        "sqlfluff lint (dbt templater) is not clean:\n" + "\n".join(violations) + "\n" + _output(result)
    )
    # Every SQL file was linted (none ignored by mistake; a skipped file fails
    # the run through large_file_skip_fail in .sqlfluff).
    linted = {Path(entry["filepath"]).as_posix() for entry in report}
    expected = {p.relative_to(ROOT).as_posix() for d in SQL_DIRS for p in (ROOT / d).rglob("*.sql")}
    assert linted == expected, f"not linted: {sorted(expected - linted)}; unexpected: {sorted(linted - expected)}"


def _precommit_hook(hook_id: str) -> dict:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"] if hook["id"] == hook_id]
    assert len(hooks) == 1, f".pre-commit-config.yaml: expected one hook {hook_id!r}, found {len(hooks)}"
    return hooks[0]


def test_precommit_sqlfluff_hook_rejects_upper_case_keywords_and_missing_alias(tmp_path: Path) -> None:
    hook = _precommit_hook("sqlfluff-lint")
    entry = hook["entry"].split()
    assert entry[:2] == ["sqlfluff", "lint"], hook["entry"]
    assert "--templater" in entry and entry[entry.index("--templater") + 1] == "jinja", (
        "the pre-commit hook should use the fast jinja templater"
    )
    bad = tmp_path / "bad_model.sql"
    bad.write_text(BAD_SQL)

    # The file is outside the checkout, so name the repository's config explicitly.
    result = _run([*entry, *hook.get("args", []), "--config", str(ROOT / ".sqlfluff"), str(bad)], timeout=120)

    assert result.returncode == 1, f"sqlfluff should report violations:\n{_output(result)}"
    for code in ("CP01", "AL03"):
        assert code in result.stdout, f"expected rule {code} in sqlfluff's report:\n{_output(result)}"


def test_precommit_sqlfluff_hook_passes_the_package() -> None:
    """The stand-ins for dbt's context (lint/sbdk_lint_jinja) render every model."""
    hook = _precommit_hook("sqlfluff-lint")
    result = _run([*hook["entry"].split(), *hook.get("args", []), *SQL_DIRS], timeout=300)
    assert result.returncode == 0, f"sqlfluff lint (jinja templater, as pre-commit) is not clean:\n{_output(result)}"


def test_python_code_passes_ruff() -> None:
    result = _run(["ruff", "check", "."], timeout=120)
    assert result.returncode == 0, f"ruff check is not clean:\n{_output(result)}"
