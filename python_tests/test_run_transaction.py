"""`sbdk run` is one transaction for the user: whatever happens during a run (a second run on
the same file, Ctrl-C, kill -9, a full disk), the file holds either the complete previous
result or the complete new one, never a mix, and the command says which."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow  # runs with --slow (engine_option.py)

SBDK = str(Path(sys.executable).with_name("sbdk"))
ENV = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1"}
ENV.pop("SBDK_DUCKDB_PATH", None)


def start(db: Path, users: int, *extra: str, **popen: object) -> subprocess.Popen:
    return subprocess.Popen([SBDK, "run", "--users", str(users), "--db", str(db), *extra],
                            cwd=db.parent, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)


class Output:
    """Reads a process's stdout in the background; waits for a line."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, prefix: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.startswith(prefix) for line in self.lines):
                return
            time.sleep(0.05)
        raise AssertionError(f"no line starting with {prefix!r} within {timeout} s: {self.lines[-5:]}")

    def text(self) -> str:
        self._thread.join(timeout=60)
        return "\n".join(self.lines)


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every table of the file, rows sorted (dbt_updated_at included: a rebuild changes it)."""
    with duckdb.connect(str(db), read_only=True) as conn:
        tables = conn.execute("select table_schema, table_name from information_schema.tables "
                              "order by 1, 2").fetchall()
        return {f"{s}.{t}": sorted(conn.execute(f'select * from "{s}"."{t}"').fetchall(), key=repr)
                for s, t in tables}


def assert_consistent(db: Path, users: int) -> None:
    """The marts describe the raw tables in the same file, generated for ``users`` users."""
    with duckdb.connect(str(db), read_only=True) as conn:
        raw = {t: conn.execute(f"select count(*) from raw.{t}").fetchone()[0]
               for t in ("raw_users", "raw_events", "raw_orders")}
        summary = dict(conn.execute("select source_table, sum(row_count) from main.data_quality_summary "
                                    "group by 1").fetchall())
        staged = {f"raw_{t}": conn.execute(f"select count(*) from main.stg_{t}").fetchone()[0]
                  for t in ("users", "events", "orders")}
        valid_users = conn.execute("select count(*) from main.user_metrics").fetchone()[0]
    assert raw["raw_users"] == users, (raw, users)
    assert summary == raw == staged, (summary, raw, staged)
    assert valid_users == users  # clean data: every user is valid


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "_sbdk_new_" in p.name)


@pytest.fixture(scope="module")
def first_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The complete result of a first run (300 users), made once per worker."""
    db = tmp_path_factory.mktemp("first") / "keep.duckdb"
    first = start(db, 300, "--quiet")
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, out + err
    return db, snapshot(db)


@pytest.fixture
def previous(first_result: tuple[Path, dict], tmp_path: Path) -> tuple[Path, dict]:
    """A file of this test's own holding the complete result of a first run."""
    source, before = first_result
    db = tmp_path / source.name
    shutil.copyfile(source, db)
    return db, before


def one_winner(results: dict) -> object:
    """Of two racing runs (key: (exit code, stdout, stderr)), exactly one succeeded and the other
    stopped with one line naming the lock's holder; the winner's key."""
    winners = [key for key, (code, _, _) in results.items() if code == 0]
    assert len(winners) == 1, results
    (loser,) = set(results) - set(winners)
    code, _, err = results[loser]
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "in use by another sbdk command (pid " in lines[0], results[loser]
    return winners[0]


@pytest.mark.parametrize("when", ["0.5s", "3s", "build"])
def test_two_runs_on_one_file(tmp_path: Path, when: str) -> None:
    db = tmp_path / "shared.duckdb"
    first = start(db, 3000)
    output = Output(first)
    if when == "build":
        output.wait_for("[10/")
    else:
        time.sleep(float(when.rstrip("s")))
    second = start(db, 5000)
    out2, err2 = second.communicate(timeout=600)
    first.wait(timeout=600)
    out1, err1 = output.text(), first.stderr.read()
    winner = one_winner({3000: (first.returncode, out1, err1), 5000: (second.returncode, out2, err2)})
    assert_consistent(db, winner)
    assert leftovers(tmp_path) == []


def signal_at(proc: subprocess.Popen, output: Output, moment: str, sig: int, *, folder: Path,
              parse_after: str) -> None:
    """Send ``sig`` to a run at a moment: ``generation`` (once its new file exists in
    ``folder``: a fixed sleep could land while a loaded machine still imports the command's
    modules, before its Ctrl-C handling is in place), ``parse`` (a second after the line
    starting with ``parse_after``) or a node line such as ``[20/`` mid-build."""
    if moment == "generation":
        deadline = time.monotonic() + 120
        while not leftovers(folder) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)
    elif moment == "parse":
        output.wait_for(parse_after)
        time.sleep(1.0)
    else:
        output.wait_for(moment)
    assert proc.poll() is None, f"the run ended before the signal: {output.lines[-3:]}"
    proc.send_signal(sig)


def assert_one_clean_interrupt(code: int, out: str, err: str, db: Path, exit_code: int = 130) -> None:
    """Exit 130 (143 for SIGTERM), one line on stderr, and nothing of dbt's on stdout (it goes
    to dbt's log file)."""
    assert code == exit_code, (code, err)
    assert err.strip().splitlines() == [f"sbdk: interrupted; {db} still holds the previous result"], err
    assert "Traceback" not in out and "\x1b[" not in out and "CANCEL" not in out, out[-3000:]


@pytest.mark.parametrize("moment", ["generation", "parse", "[20/"], ids=["generation", "parse", "build"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_run_keeps_the_previous_result(previous: tuple[Path, dict], moment: str, sig: int) -> None:
    db, before = previous
    proc = start(db, 200_000 if moment == "generation" else 20_000)
    output = Output(proc)
    signal_at(proc, output, moment, sig, folder=db.parent, parse_after="generated ")
    proc.wait(timeout=300)
    err = proc.stderr.read()
    out = output.text()
    assert snapshot(db) == before
    if sig == signal.SIGINT:
        assert_one_clean_interrupt(proc.returncode, out, err, db)
        assert leftovers(db.parent) == []  # an interrupted run removes its new file itself
        return
    assert proc.returncode == -signal.SIGKILL
    # what a killed run leaves beside the file goes with the next command
    again = subprocess.run([SBDK, "generate", "--users", "10", "--db", str(db.with_name("other.duckdb"))],
                           env=ENV, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    nxt = start(db, 300, "--quiet")
    out, err = nxt.communicate(timeout=600)
    assert nxt.returncode == 0, out + err
    assert leftovers(db.parent) == []


@pytest.mark.parametrize(("sig", "line", "exit_code"), [(signal.SIGINT, "[1/", 130), (signal.SIGTERM, "[20/", 143)],
                         ids=["SIGINT-as-the-build-starts", "SIGTERM-mid-build"])
def test_a_signal_during_the_build_keeps_the_previous_result(previous: tuple[Path, dict], sig: int, line: str,
                                                            exit_code: int) -> None:
    """A Ctrl-C as the first node finishes (dbt still starting its threads; mid-build: the
    `build` case of test_interrupted_run_keeps_the_previous_result), and `kill` (SIGTERM)
    mid-build, handled like a Ctrl-C: the same single line, exit 130 or 143 (128 + 15), no
    traceback or cancellation messages of dbt's, the previous result kept and nothing left
    beside it (no waiting for the next command)."""
    db, before = previous
    proc = start(db, 3000)
    output = Output(proc)
    signal_at(proc, output, line, sig, folder=db.parent, parse_after="generated ")
    proc.wait(timeout=300)
    assert_one_clean_interrupt(proc.returncode, output.text(), proc.stderr.read(), db, exit_code)
    assert snapshot(db) == before
    assert leftovers(db.parent) == []


def _limit_file_size(limit: int) -> None:
    # a simulated full disk: writes past `limit` bytes fail (EFBIG) instead of killing the process
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_full_disk_during_the_build(previous: tuple[Path, dict]) -> None:
    db, before = previous
    proc = start(db, 20_000, preexec_fn=lambda: _limit_file_size(8 * 2**20))
    out, err = proc.communicate(timeout=600)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 1, (proc.returncode, out[-2000:], err[-2000:])
    assert "generated " in out, "the disk should fill up during the build, not the generation"
    assert len(lines) == 1 and lines[0].startswith("sbdk: error: "), err[-3000:]
    assert "Traceback" not in err + out and "Logging error" not in err and "\x1b[" not in out
    assert snapshot(db) == before
    assert leftovers(db.parent) == []


# ---------------------------------------------------------------- sbdk run --append-days


def append(db: Path, days: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([SBDK, "run", "--append-days", str(days), "--db", str(db), *extra], cwd=db.parent,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_equals_reference(db: Path) -> None:
    """Every model in ``db`` equals the reference implementation on the raw rows in it, as of the
    last build's date (the day of its last arrival batch)."""
    import harness
    from sbdk.engines import DuckDBEngine

    with duckdb.connect(str(db), read_only=True) as conn:
        as_of = conn.execute("select max_by(as_of_date, logged_at) from main.sbdk_build_log").fetchone()[0]
    harness.assert_equals_reference(DuckDBEngine(db), harness.read_raw_rows(db), as_of, f"{db.name} as of {as_of}")


def test_append_days_builds_each_batch_incrementally(previous: tuple[Path, dict]) -> None:
    """Two daily batches appended to a result, each built incrementally: one line per batch
    (rows arrived, users reprocessed, time next to the full refresh's), the build log in the
    file, and every model equal to the reference on the raw rows the file holds."""
    db, before = previous
    proc = append(db, 2, "--quiet")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    with duckdb.connect(str(db), read_only=True) as conn:
        log = conn.execute("select as_of_date, full_refresh, rows_arrived, users_reprocessed, build_seconds "
                           "from main.sbdk_build_log order by logged_at").fetchall()
        arrived = conn.execute("select _loaded_at, count(*) from (select _loaded_at from raw.raw_users union all "
                               "select _loaded_at from raw.raw_events union all select _loaded_at from "
                               "raw.raw_orders) group by 1 order by 1").fetchall()
        users = conn.execute("select count(*) from main.stg_users").fetchone()[0]
    first_as_of = log[0][0]
    assert [(r[0], r[1]) for r in log] == [
        (first_as_of, True), (first_as_of + timedelta(days=1), False), (first_as_of + timedelta(days=2), False)]
    assert [n for _, n in arrived[1:]] == [r[2] for r in log[1:]], (arrived, log)
    lines = [line for line in out.splitlines() if " rows arrived, " in line]
    assert len(lines) == 2, out
    for line, (day, _, rows, reprocessed, seconds) in zip(lines, log[1:], strict=True):
        assert line.startswith(f"{day}: {rows:,} rows arrived, {reprocessed:,} users reprocessed; incremental "
                               f"build "), line
        assert f"in {seconds:.1f} s; the last full refresh took {log[0][4]:.1f} s (" in line, line
        assert 0 < reprocessed < users, (reprocessed, users)  # not every user: incremental
    assert f"{db} now holds this result" in out
    assert_equals_reference(db)


def test_two_append_runs_on_one_file(previous: tuple[Path, dict]) -> None:
    """A second incremental run started while the first builds its first batch: one of them
    publishes, the other stops with one line naming the lock's holder, and the file holds the
    winner's complete result (one or two batches more, equal to the reference)."""
    db, before = previous
    first = append(db, 2)
    output = Output(first)
    output.wait_for("[10/")
    second = append(db, 1)
    out2, err2 = second.communicate(timeout=600)
    first.wait(timeout=600)
    days = one_winner({2: (first.returncode, output.text(), first.stderr.read()), 1: (second.returncode, out2, err2)})
    with duckdb.connect(str(db), read_only=True) as conn:
        incremental = conn.execute("select count(*) from main.sbdk_build_log where not full_refresh").fetchone()[0]
    assert incremental == days
    assert_equals_reference(db)
    assert leftovers(db.parent) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_append_keeps_the_previous_result(previous: tuple[Path, dict], sig: int) -> None:
    """An incremental run stopped in its second batch's build (Ctrl-C, kill -9) leaves the
    previous result as it was; after a kill, the next incremental run equals the reference."""
    db, before = previous
    proc = append(db, 2)
    output = Output(proc)
    first_batch = f"{date.fromisoformat('2025-12-31') + timedelta(days=1)}: "
    output.wait_for(first_batch)
    deadline = time.monotonic() + 300  # a node line of the second batch's build
    while time.monotonic() < deadline and not any(
            line.startswith("[20/") for line in output.lines[output.lines.index(next(
                line for line in output.lines if line.startswith(first_batch))):]):
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before the signal: {output.lines[-3:]}"
    proc.send_signal(sig)
    proc.wait(timeout=300)
    err = proc.stderr.read()
    out = output.text()
    assert snapshot(db) == before
    if sig == signal.SIGINT:
        assert_one_clean_interrupt(proc.returncode, out, err, db)
        assert leftovers(db.parent) == []
        return
    assert proc.returncode == -signal.SIGKILL
    nxt = append(db, 1, "--quiet")
    out, err = nxt.communicate(timeout=600)
    assert nxt.returncode == 0, out + err
    assert leftovers(db.parent) == []
    assert_equals_reference(db)
