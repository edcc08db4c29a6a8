"""`sbdk run --target postgres` / `--target spark` is one transaction too: the engine is locked
for the whole command, and on PostgreSQL the new result is built aside and swapped in at once,
so whatever happens during a run (a second run against the same database with another --db,
Ctrl-C, kill -9, a failed build) the schemas `raw` and `main` hold either the complete previous
result or the complete new one, and the command says which (see sbdk.runtarget).

The PostgreSQL tests run with `--engine postgres` (on the server of the run, one database per
test made from a template); the Spark tests start no Spark session and run on DuckDB's suite."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest

from sbdk.engines import PostgresEngine
from sbdk.options import InterruptedAfterWrite, RunSettings, first_line
from sbdk.pipeline import _Silent, run_pipeline
from test_messages import full_disk_at_the_rename_of
from test_run_transaction import ENV, SBDK, Output, leftovers, signal_at

SCHEMAS = ("raw", "main")
ASIDE = ("raw__sbdk_new", "main__sbdk_new")


def start_pg(db: Path, engine: PostgresEngine, users: int, *extra: str) -> subprocess.Popen:
    db.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([SBDK, "run", "--users", str(users), "--db", str(db), "--target", "postgres", *extra],
                            cwd=db.parent, env={**ENV, **engine.dbt_env()}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def pg_snapshot(engine: PostgresEngine) -> dict[str, list[tuple]]:
    """Every table of the schemas raw and main, rows sorted (dbt_updated_at included: a
    rebuild changes it)."""
    names, tables = engine.query("select table_schema, table_name from information_schema.tables "
                                 "where table_schema in ('raw', 'main') order by 1, 2")
    return {f"{s}.{t}": sorted(engine.query(f'select * from "{s}"."{t}"')[1], key=repr) for s, t in tables}


def schemas(engine: PostgresEngine) -> list[str]:
    return [r[0] for r in engine.query("select nspname from pg_namespace where nspname in "
                                       "('raw', 'main', 'raw__sbdk_new', 'main__sbdk_new') order by 1")[1]]


def assert_consistent(engine: PostgresEngine, users: int) -> None:
    """The marts describe the raw tables beside them, generated for ``users`` users."""
    raw = {t: engine.scalar_row(f"select count(*) from raw.{t}")[0] for t in ("raw_users", "raw_events", "raw_orders")}
    summary = dict(engine.query("select source_table, sum(row_count)::bigint from main.data_quality_summary "
                                "group by 1")[1])
    staged = {f"raw_{t}": engine.scalar_row(f"select count(*) from main.stg_{t}")[0]
              for t in ("users", "events", "orders")}
    assert raw["raw_users"] == users, (raw, users)
    assert summary == raw == staged, (summary, raw, staged)
    assert engine.scalar_row("select count(*) from main.user_metrics")[0] == users


def _admin(engine: PostgresEngine, *statements: str) -> None:
    conn = engine.connect("postgres")
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def _wait_until_unused(engine: PostgresEngine, database: str, timeout: float = 60) -> None:
    """Until no session uses ``database`` (a finished command's backends end just after it)."""
    deadline = time.monotonic() + timeout
    while engine.scalar_row(f"select count(*) from pg_stat_activity where datname = '{database}'")[0]:
        assert time.monotonic() < deadline, f"sessions on {database} after {timeout} s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def first_pg(warehouse: PostgresEngine, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[PostgresEngine, dict]]:
    """A database holding the complete result of a first run (300 users), made once per worker."""
    engine = PostgresEngine({**warehouse.settings, "DATABASE": warehouse.settings["DATABASE"] + "_tx"})
    _admin(engine, f'drop database if exists "{engine.settings["DATABASE"]}"',
           f'create database "{engine.settings["DATABASE"]}"')
    first = start_pg(tmp_path_factory.mktemp("first") / "keep.duckdb", engine, 300, "--quiet")
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, out + err
    try:
        yield engine, pg_snapshot(engine)
    finally:
        engine.close()
        _admin(engine, f'drop database if exists "{engine.settings["DATABASE"]}" with (force)')


_copies = count()


@pytest.fixture
def previous_pg(first_pg: tuple[PostgresEngine, dict]) -> Iterator[tuple[PostgresEngine, dict]]:
    """A database of this test's own holding the complete result of a first run."""
    template, before = first_pg
    engine = PostgresEngine({**template.settings, "DATABASE": f"{template.settings['DATABASE']}_{next(_copies)}"})
    template.close()
    admin = PostgresEngine({**template.settings, "DATABASE": "postgres"})
    try:
        _wait_until_unused(admin, template.settings["DATABASE"])
    finally:
        admin.close()
    name = engine.settings["DATABASE"]
    _admin(engine, f'drop database if exists "{name}"',
           f'create database "{name}" template "{template.settings["DATABASE"]}"')
    try:
        yield engine, before
    finally:
        engine.close()
        _admin(engine, f'drop database if exists "{name}" with (force)')


def _pg_place(engine: PostgresEngine) -> str:
    s = engine.settings
    return f"the PostgreSQL schemas raw and main of database {s['DATABASE']} on {s['HOST']}:{s['PORT']}"


@pytest.mark.engines("postgres", duckdb=False)
@pytest.mark.parametrize("moment", ["generation", "parse", "[20/"], ids=["generation", "parse", "build"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_pg_run_keeps_the_previous_result(previous_pg: tuple[PostgresEngine, dict], tmp_path: Path,
                                                      moment: str, sig: int) -> None:
    engine, before = previous_pg
    db = tmp_path / "run.duckdb"
    proc = start_pg(db, engine, 200_000 if moment == "generation" else 3_000)
    output = Output(proc)
    # generation: once the new DuckDB file exists (the PostgreSQL lock is taken by then)
    signal_at(proc, output, moment, sig, folder=tmp_path, parse_after="loaded the raw tables into postgres")
    proc.wait(timeout=300)
    err, out = proc.stderr.read(), output.text()
    if sig == signal.SIGINT:
        assert proc.returncode == 130, (proc.returncode, err)
        assert err.strip().splitlines() == [
            f"sbdk: interrupted; no result was written to {db}; {_pg_place(engine)} still hold the previous "
            "result"], err
        assert "Traceback" not in out, out[-3000:]
        assert schemas(engine) == ["main", "raw"]  # the aside schemas dropped on the way out
    else:
        assert proc.returncode == -signal.SIGKILL
    assert pg_snapshot(engine) == before
    if sig == signal.SIGKILL and moment == "[20/":
        # what the killed run left aside (both schemas, its queries maybe still running) goes
        # with the next run, which builds and swaps in (once: a build costs about 20 s)
        assert schemas(engine) == ["main", "main__sbdk_new", "raw", "raw__sbdk_new"]
        nxt = start_pg(db, engine, 120, "--quiet")
        out, err = nxt.communicate(timeout=600)
        assert nxt.returncode == 0, out + err
        assert schemas(engine) == ["main", "raw"]
        assert_consistent(engine, 120)


class Reader:
    """Reads the users of raw.raw_users and of main.data_quality_summary, in one statement (one
    snapshot), over and over in the background; the answers in order, repeats collapsed."""

    QUERY = ("select (select count(*) from raw.raw_users), "
             "(select sum(row_count)::bigint from main.data_quality_summary where source_table = 'raw_users')")

    def __init__(self, engine: PostgresEngine) -> None:
        self.engine = PostgresEngine(engine.settings)
        self.seen: list[tuple] = [self.engine.scalar_row(self.QUERY)]
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        import psycopg2

        while not self._stop.wait(0.02):
            try:
                row = self.engine.scalar_row(self.QUERY)
            except psycopg2.Error as exc:  # a table dropped by the swap while the query waited for it
                self.errors.append(f"{type(exc).__name__}: {first_line(exc)}")
                self.engine.close()
                continue
            if row != self.seen[-1]:
                self.seen.append(row)

    def stop(self) -> list[tuple]:
        self._stop.set()
        self._thread.join(timeout=60)
        row = self.engine.scalar_row(self.QUERY)
        if row != self.seen[-1]:
            self.seen.append(row)
        self.engine.close()
        return self.seen


@pytest.mark.engines("postgres", duckdb=False)
def test_two_pg_runs_on_one_database(previous_pg: tuple[PostgresEngine, dict], tmp_path: Path) -> None:
    """Two runs with different --db against one database: the second stops at once, with one
    line naming the first; the data and the numbers printed are the first's; a reader meanwhile
    sees the previous result, then the new one, never a mix."""
    engine, _ = previous_pg
    reader = Reader(engine)
    first = start_pg(tmp_path / "a" / "a.duckdb", engine, 3000)
    output = Output(first)
    output.wait_for("[10/")
    second = start_pg(tmp_path / "b" / "b.duckdb", engine, 150, "--quiet")
    out2, err2 = second.communicate(timeout=600)
    first.wait(timeout=600)
    out1, err1 = output.text(), first.stderr.read()
    seen = reader.stop()
    # a reader all along saw the previous result, then this run's, never raw tables of one
    # beside models of the other
    assert seen[0] == (300, 300) and seen[-1] == (3000, 3000) and set(seen) == {(300, 300), (3000, 3000)}, seen
    assert first.returncode == 0, out1[-3000:] + err1
    assert second.returncode == 1, out2 + err2
    assert err2.strip().splitlines() == [
        f"sbdk: error: {_pg_place(engine)} are in use by another sbdk command (pid {first.pid}); "
        "wait for it to finish"], err2
    assert not (tmp_path / "b" / "b.duckdb").exists()  # stopped before writing anything
    assert_consistent(engine, 3000)
    assert any(line.split() == ["stg_users", "3,000"] for line in out1.splitlines()), out1[-3000:]
    assert schemas(engine) == ["main", "raw"]


@pytest.mark.engines("postgres", duckdb=False)
def test_failed_pg_build_keeps_the_previous_result(previous_pg: tuple[PostgresEngine, dict], tmp_path: Path) -> None:
    """A build whose test fails: neither its raw tables nor its models replace the previous ones."""
    engine, before = previous_pg
    project = tmp_path / "project"
    source = Path(__file__).resolve().parents[1]
    shutil.copytree(source, project, ignore=lambda folder, names: [
        n for n in names if Path(folder) == source and n not in (
            "dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "seeds", "tests")])
    (project / "tests" / "fails_on_purpose.sql").write_text("select 1 as failing_on_purpose\n")
    db = tmp_path / "run.duckdb"
    db.parent.mkdir(exist_ok=True)
    proc = subprocess.run([SBDK, "run", "--users", "150", "--db", str(db), "--target", "postgres", "--quiet"],
                          cwd=tmp_path, env={**ENV, **engine.dbt_env(), "SBDK_PROJECT_DIR": str(project)},
                          capture_output=True, text=True, timeout=600)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    # (a failing test's rows follow on lines of their own)
    assert lines[0].startswith("sbdk: error: dbt build failed: test fails_on_purpose: fail"), lines
    assert pg_snapshot(engine) == before
    assert schemas(engine) == ["main", "raw"]


@pytest.mark.engines("postgres", duckdb=False)
def test_a_full_disk_at_the_file_publish_after_the_swap_says_postgres_holds_the_new_result(
        previous_pg: tuple[PostgresEngine, dict], tmp_path: Path) -> None:
    """The schemas are swapped in before the DuckDB file is renamed into place: when that
    rename fails (ENOSPC), the one line says the file holds the previous result and the
    schemas the new one, as they do."""
    engine, _ = previous_pg
    script = full_disk_at_the_rename_of("keep.duckdb", "--users", "120", "--target", "postgres", "--quiet")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={**ENV, **engine.dbt_env()},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "out of disk space" in lines[0] and f"{tmp_path / 'keep.duckdb'} still holds the previous result" in lines[0]
    assert lines[0].endswith(f"but {_pg_place(engine)} hold the new result (run again to bring the file in line)")
    assert_consistent(engine, 120)  # the new result, whole
    assert schemas(engine) == ["main", "raw"]


# ---------------------------------------------------------------- Spark (no Spark session)


def test_busy_spark_folder_stops_the_run_before_anything_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     cli_in_process, capsys) -> None:
    spark = tmp_path / "spark"
    spark.mkdir()
    fd = os.open(spark / "sbdk.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"4242\n")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what another sbdk command holds
        monkeypatch.setenv("SBDK_SPARK_DIR", str(spark))
        code = cli_in_process(["run", "--users", "10", "--db", str(tmp_path / "x.duckdb"), "--target", "spark",
                               "--quiet"])
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.strip().splitlines() == [
        f"sbdk: error: the Spark folder {spark} is in use by another sbdk command (pid 4242); wait for it to finish"]
    assert not (tmp_path / "x.duckdb").exists() and leftovers(tmp_path) == []
    assert [p.name for p in spark.iterdir()] == ["sbdk.lock"]


class _InterruptAfterGenerating(_Silent):
    def generated(self, result: object) -> None:
        raise KeyboardInterrupt


def test_spark_run_interrupted_before_loading_says_the_warehouse_holds_the_previous_result(tmp_path: Path) -> None:
    db, spark = tmp_path / "x.duckdb", tmp_path / "spark"
    settings = RunSettings(db=db, users=10, target="spark", spark_dir=spark)
    with pytest.raises(KeyboardInterrupt) as caught:
        run_pipeline(settings, _InterruptAfterGenerating())
    assert isinstance(caught.value, InterruptedAfterWrite), repr(caught.value)
    assert caught.value.where == (f"no result was written to {db}; the Spark warehouse in {spark} still holds the "
                                  "previous result")
    assert not db.exists() and [p.name for p in spark.iterdir()] == ["sbdk.lock"]
    # the lock went with the run
    fd = os.open(spark / "sbdk.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


@pytest.mark.engines("spark", duckdb=False)
def test_spark_run_interrupted_after_loading_says_the_warehouse_may_hold_a_mix(tmp_path: Path) -> None:
    """The one Spark run of this file: a Ctrl-C once the raw tables are in the warehouse (while
    dbt starts) says what the warehouse holds, in one line."""
    db, spark = tmp_path / "x.duckdb", tmp_path / "spark"
    proc = subprocess.Popen([SBDK, "run", "--users", "30", "--db", str(db), "--target", "spark"], cwd=tmp_path,
                            env={**ENV, "SBDK_SPARK_DIR": str(spark)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    output = Output(proc)
    output.wait_for("loaded the raw tables into spark")
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=300)
    err = proc.stderr.read()
    assert proc.returncode == 130, (proc.returncode, output.text()[-2000:], err)
    # (the JVM writes its own start-up warnings to stderr before: not sbdk's lines)
    assert [line for line in err.splitlines() if line.startswith("sbdk")] == [
        f"sbdk: interrupted; no result was written to {db}; the Spark warehouse in {spark} may hold a mix "
        "of this run's tables and the previous ones (Spark replaces them one by one); the next run replaces them "
        "all"], err
