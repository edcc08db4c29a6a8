"""The `sbdk` command end to end, on a small size, and its error cases:
one line on stderr, a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import psutil
import pytest

from sbdk.project import find_project_dir

SBDK = str(Path(sys.executable).with_name("sbdk"))


def run_cli(*args: str, cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})}
    full_env.pop("SBDK_DUCKDB_PATH", None)
    return subprocess.run([SBDK, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, exit_code: int, *needles: str) -> None:
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"


def test_run_generates_builds_and_summarizes(tmp_path: Path) -> None:
    db = tmp_path / "out" / "demo.duckdb"
    result = run_cli("run", "--users", "300", "--seed", "3", "--db", str(db), "--dirty", "0.05", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for heading in ("rows per model", "users by lifecycle stage", "data quality", "revenue"):
        assert heading in out, out
    with duckdb.connect(str(db), read_only=True) as conn:
        users = conn.execute("select count(*) from main.user_metrics").fetchone()[0]
        valid = conn.execute("select count(*) from main.stg_users where data_quality_flag = 'valid'").fetchone()[0]
        revenue = conn.execute("select sum(total_revenue) from main.user_metrics").fetchone()[0]
    assert users == valid > 0
    metrics_line = next(line for line in out.splitlines() if line.startswith("user_metrics "))
    assert metrics_line.split()[-1] == f"{users:,}", metrics_line
    assert f"revenue {revenue:,.2f}" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["generate", "--users", "-3"], "--users"),
        (["generate", "--users", "abc"], "--users"),
        (["generate", "--users", "999999999999"], "--users"),
        (["run", "--as-of", "2025-02-30"], "--as-of"),
        (["generate", "--users", "10", "--start", "yesterday"], "--start"),
        (["generate", "--users", "10", "--dirty", "2"], "--dirty"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path: Path, args: list[str], needle: str) -> None:
    assert_one_line_error(run_cli(*args, cwd=tmp_path), 2, needle)


def test_start_after_end(tmp_path: Path) -> None:
    result = run_cli("generate", "--users", "10", "--start", "2025-06-01", "--end", "2025-01-01", cwd=tmp_path)
    assert_one_line_error(result, 2, "start", "end")
    assert list(tmp_path.iterdir()) == [], "nothing may be written before the arguments are checked"


def test_unwritable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    result = run_cli("generate", "--users", "10", "--db", str(blocker / "x.duckdb"), cwd=tmp_path)
    assert_one_line_error(result, 1, str(blocker))


def test_locked_database_file(tmp_path: Path) -> None:
    db = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            conn = duckdb.connect({str(db)!r})
            conn.execute("create table t as select 1 as x")
            print("ready", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = run_cli("generate", "--users", "10", "--db", str(db), cwd=tmp_path)
        assert_one_line_error(result, 1, "in use by another process", str(db))
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    # the holder's table is intact and no raw table was half-written
    with duckdb.connect(str(db), read_only=True) as conn:
        tables = {r[0] for r in conn.execute("select table_name from information_schema.tables").fetchall()}
    assert tables == {"t"}


@pytest.mark.slow
def test_dbt_failure_names_the_model(tmp_path: Path) -> None:
    project = tmp_path / "broken_project"
    project.mkdir()
    source = find_project_dir()
    for item in ("dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "seeds", "tests"):
        src = source / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, project / item)
    model = project / "models" / "marts" / "product_summary.sql"
    model.write_text(model.read_text().replace("from categories", "from no_such_cte"))
    result = run_cli("run", "--users", "50", "--db", str(tmp_path / "x.duckdb"), cwd=tmp_path,
                     env={"SBDK_PROJECT_DIR": str(project)})
    assert_one_line_error(result, 1, "product_summary")


def _wait_until_open(pid: int, path: Path, timeout: float = 120.0) -> None:
    """Wait until process ``pid`` has the file ``path`` (or its write-ahead log) open."""
    deadline = time.monotonic() + timeout
    names = {str(path), f"{path}.wal"}
    while time.monotonic() < deadline:
        try:
            if names & {f.path for f in psutil.Process(pid).open_files()}:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} did not open {path} within {timeout:.0f} s")


def test_interrupted_generation_leaves_previous_tables(tmp_path: Path) -> None:
    db = tmp_path / "keep.duckdb"
    first = run_cli("generate", "--users", "100", "--db", str(db), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    with duckdb.connect(str(db), read_only=True) as conn:
        before = conn.execute("select count(*), sum(hash(user_id)) from raw.raw_users").fetchone()
    proc = subprocess.Popen([SBDK, "generate", "--users", "3000000", "--db", str(db), "--no-progress"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Ctrl-C once the generation is under way, then again every 50 ms until it stops,
    # as an impatient user does: a single signal can land where DuckDB absorbs it into a
    # query that finishes anyway, and the later ones land in the middle of the cleanup the
    # first one started (which must still run to its end, silently). "Under way": the
    # command has the database open (a fixed delay was too short on a loaded machine,
    # where Python had not even finished starting).
    _wait_until_open(proc.pid, db)
    time.sleep(0.5)
    while proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            pass
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert err.strip().splitlines() == [
        f"sbdk: interrupted; {db} still holds the previous result"], err
    with duckdb.connect(str(db), read_only=True) as conn:
        after = conn.execute("select count(*), sum(hash(user_id)) from raw.raw_users").fetchone()
        leftovers = conn.execute(
            "select count(*) from information_schema.tables where table_name like '%tmp%'").fetchone()[0]
    assert after == before
    assert leftovers == 0


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["run", "--threads", "-3"], {}, "--threads"),
        (["run", "--threads", "100000"], {}, "--threads"),
        (["run"], {"SBDK_DUCKDB_PATH": ":memory:"}, "in-memory database keeps nothing"),
        (["run"], {"SBDK_DUCKDB_PATH": "  "}, "$SBDK_DUCKDB_PATH is empty"),
        (["generate", "--users", "5", "--db", ""], {}, "--db is empty"),
        (["run", "--db", "."], {}, "is a folder"),
        (["run", "--memory-limit", "lots"], {}, "--memory-limit"),
        (["run", "--memory-limit", "0GB"], {}, "--memory-limit"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(tmp_path: Path, args: list[str], env: dict,
                                                            needle: str) -> None:
    full_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env}
    result = subprocess.run([SBDK, *args], cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=120)
    assert_one_line_error(result, 2, needle)
    assert list(tmp_path.iterdir()) == [], "nothing may be written before the arguments are checked"


def test_default_database_and_home_expansion(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    # no --db: ./sbdk.duckdb, outside dbt's target/ folder (which `dbt clean` empties)
    first = run_cli("generate", "--users", "5", cwd=tmp_path, env={"HOME": str(home)})
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "sbdk.duckdb").is_file()
    second = run_cli("generate", "--users", "5", "--db", "~/data/x.duckdb", cwd=tmp_path, env={"HOME": str(home)})
    assert second.returncode == 0, second.stderr
    assert (home / "data" / "x.duckdb").is_file()
    assert not (tmp_path / "~").exists()


def test_next_command_drops_a_killed_generations_temporary_tables(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    assert run_cli("generate", "--users", "5", "--db", str(db), cwd=tmp_path).returncode == 0
    with duckdb.connect(str(db)) as conn:  # what a kill -9 in the middle of a generation leaves
        conn.execute("create schema other")
        conn.execute("create table raw.__sbdk_tmp_raw_events as select * from range(1000)")
        conn.execute("create table other.__sbdk_tmp_raw_users as select * from range(1000)")
    result = run_cli("generate", "--users", "5", "--db", str(db), "--schema", "elsewhere", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(db), read_only=True) as conn:
        tmp = conn.execute("select count(*) from information_schema.tables where table_name like '__sbdk_tmp_%'")
        assert tmp.fetchone()[0] == 0


@pytest.mark.slow
def test_dbt_phase_reports_progress_at_least_every_5_seconds(tmp_path: Path) -> None:
    proc = subprocess.Popen([SBDK, "run", "--users", "3000", "--db", str(tmp_path / "p.duckdb")], cwd=tmp_path,
                            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stamped = [(time.monotonic(), line.rstrip("\n")) for line in proc.stdout]
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    start = next(t for t, line in stamped if line.startswith("generated "))
    end = next(t for t, line in stamped if line.startswith("dbt build: "))
    progress = [line for _, line in stamped if line.startswith("[")]
    done, total = progress[-1][1:].split("]")[0].split("/")
    assert done == total and int(total) > 0, progress[-3:]  # every node reported
    times = [start] + [t for t, line in stamped if line.startswith("[")] + [end]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert max(gaps) <= 5.0, f"{max(gaps):.1f} s without progress: {progress[:5]}"


def test_as_of_before_end_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("run", "--users", "10", "--as-of", "2025-06-30", "--end", "2025-12-31", cwd=tmp_path)
    assert_one_line_error(result, 2, "--as-of 2025-06-30", "--end 2025-12-31", "future_timestamp")
    assert list(tmp_path.iterdir()) == [], "nothing may be written before the arguments are checked"


@pytest.mark.slow
def test_as_of_defaults_to_end(tmp_path: Path) -> None:
    """Only --end: the models are as of it, and no generated row is after it. The other
    direction and every spelling of --memory-limit none are checked in-process
    (test_cli_inprocess); here the profile also reads $SBDK_DUCKDB_MEMORY_LIMIT=None (any
    case) as no limit, the value the CLI passes on for --memory-limit none."""
    db = tmp_path / "dates.duckdb"
    as_of = "2025-03-31"
    result = run_cli("run", "--users", "200", "--no-progress", "--db", str(db), "--end", as_of, cwd=tmp_path,
                     env={"SBDK_DUCKDB_MEMORY_LIMIT": "None"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"as_of_date {as_of})" in result.stdout
    with duckdb.connect(str(db), read_only=True) as conn:
        last = conn.execute("select max(t) from (select max(event_timestamp) as t from main.stg_events "
                            "union all select max(ordered_at) from main.stg_orders)").fetchone()[0]
        future = conn.execute("select coalesce(sum(row_count), 0) from main.data_quality_summary "
                              "where data_quality_flag = 'future_timestamp'").fetchone()[0]
    assert last.date().isoformat() <= as_of
    assert future == 0
