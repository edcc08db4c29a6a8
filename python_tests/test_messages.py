"""What the `sbdk` command says, and when: every setting checked before anything is written
(exit 2, one line naming the flag or variable), the dbt variables that would change what a
build means kept out of it, a full disk named at the publish, the interrupt message true on
either side of the rename, SIGTERM handled like Ctrl-C, FIFOs, remote names and a closed stdout
each one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

SBDK = str(Path(sys.executable).with_name("sbdk"))
ENV = {name: value for name, value in os.environ.items()
       if not name.startswith(("SBDK_", "PG", "DBT_"))} | {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


def run_script(code: str, cwd: Path, **popen: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=300, **popen)


def raw_users(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute("select count(*) from raw.raw_users").fetchone()[0]


def model_tables(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return [r[0] for r in conn.execute("select table_name from information_schema.tables "
                                           "where table_schema = 'main' order by 1").fetchall()]


# ---------------------------------------------------------------- the interrupt message at the rename (M4, M7)


#: `sbdk run` with the build left out (generation only: the window under test is the publish),
#: a signal sent to itself from inside ``WINDOW`` of the publish, held there long enough for
#: Python to run the handler.
_PUBLISH_WINDOW = """
    import os, signal, sys, time
    import sbdk.pipeline as pipeline
    import sbdk.runfile as runfile
    from sbdk.cli import main
    from sbdk.pipeline import RunResult, RunSummary

    assert main(["generate", "--users", "5", "--db", "keep.duckdb"]) == 0

    def generate_only(settings, new, db, reporter):
        generated = pipeline._generate(new, settings)
        return RunResult(db, generated, None, RunSummary([("stg_users", 30)], 0.0, 0, 0, [], []))

    pipeline._generate_and_build = generate_only

    def signalled(real):
        def hook(*args):
            os.kill(os.getpid(), SIGNAL)
            time.sleep(0.3)  # the handler runs here, if the signal is handled
            return real(*args)
        return hook

    if WINDOW == "before":
        runfile.ignore_interrupts = signalled(runfile.ignore_interrupts)
    elif WINDOW == "rename":
        os.replace = signalled(os.replace)
    else:
        os.fsync = signalled(os.fsync)
    print("-- run --", flush=True)
    sys.exit(main(["run", "--users", "30", "--db", "keep.duckdb"]))
"""


@pytest.mark.parametrize("window", ["before", "rename", "fsync"])
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_the_interrupt_message_is_true_on_either_side_of_the_rename(tmp_path: Path, window: str, sig: str) -> None:
    proc = run_script(_PUBLISH_WINDOW.replace("SIGNAL", f"signal.{sig}").replace("WINDOW", repr(window)), tmp_path)
    db = tmp_path / "keep.duckdb"
    out = proc.stdout.split("-- run --")[-1]
    if window == "before":  # a stop before the commit point: nothing published, and it says so
        assert proc.returncode == (130 if sig == "SIGINT" else 143), proc.stdout + proc.stderr
        assert one_line(proc.stderr) == "sbdk: interrupted; keep.duckdb still holds the previous result"
        assert raw_users(db) == 5 and "now holds" not in out
    else:  # from the rename on the run is committed: the signal changes nothing
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stderr == ""
        assert out.rstrip().endswith(f"{db} now holds this result")
        assert raw_users(db) == 30
    assert not [p.name for p in tmp_path.iterdir() if "_sbdk_new_" in p.name]


# ---------------------------------------------------------------- a closed stdout (M7)


def test_a_closed_stdout_stops_a_run_quietly_before_the_publish(tmp_path: Path) -> None:
    """`sbdk run | head -1`: the first line is read, then the pipe closes; the next progress
    line stops the run as a Ctrl-C would, and the line on stderr says nothing was published."""
    db = tmp_path / "x.duckdb"
    proc = subprocess.Popen([SBDK, "run", "--users", "30", "--db", str(db)], cwd=tmp_path,
                            env={**ENV, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 141, err
    assert first.startswith("generated ")
    assert one_line(err) == f"sbdk: stdout was closed; no result was written to {db}"
    assert "Exception ignored" not in err
    assert not db.exists() and not [p.name for p in tmp_path.iterdir() if "_sbdk_new_" in p.name]


def test_a_closed_stdout_after_the_write_says_the_file_holds_it(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    proc = subprocess.Popen([SBDK, "generate", "--users", "30", "--db", str(db)], cwd=tmp_path, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # nobody reads: the first line written finds the pipe closed
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 141, err
    assert one_line(err) == f"sbdk: stdout was closed; {db} holds the new raw tables"
    assert raw_users(db) == 30


# ---------------------------------------------------------------- settings (M2)


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["run"], {"SBDK_DBT_THREADS": "abc"}, "$SBDK_DBT_THREADS=abc"),
        (["run"], {"SBDK_DBT_THREADS": "0"}, "$SBDK_DBT_THREADS=0"),
        (["run"], {"SBDK_DBT_THREADS": "-3"}, "$SBDK_DBT_THREADS=-3"),
        (["run"], {"SBDK_DBT_THREADS": "1000"}, "from 1 to 64"),
        (["run"], {"SBDK_DUCKDB_MEMORY_LIMIT": "garbage"}, "$SBDK_DUCKDB_MEMORY_LIMIT=garbage"),
        (["run", "--memory-limit", "1000%"], {}, "--memory-limit"),
        (["run", "--memory-limit", "1KB"], {}, "at least 64MiB"),
        (["run", "--as-of", "9999-12-31"], {}, "--as-of"),
        (["run", "--start", "1850-01-01"], {}, "--start"),
        (["run", "--start", "2025-06-01", "--end", "2025-01-01"], {}, "--start 2025-06-01 is after --end"),
        (["run", "--target", "postgres"], {"SBDK_PG_PORT": "notaport"}, "$SBDK_PG_PORT=notaport"),
        (["run", "--target", "postgres"], {"PGPORT": "99999"}, "$PGPORT=99999"),
        (["run", "--target", "spark"], {"SBDK_SPARK_SHUFFLE_PARTITIONS": "0"}, "$SBDK_SPARK_SHUFFLE_PARTITIONS"),
        (["run"], {"SBDK_PROJECT_DIR": "no_such_project"}, "SBDK_PROJECT_DIR=no_such_project"),
        (["generate", "--schema", " "], {}, "--schema"),
    ],
)
def test_every_setting_is_checked_before_anything_is_written(
        cli_in_process: Callable[..., int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], args: list[str], env: dict[str, str], needle: str) -> None:
    for name in list(os.environ):
        if name.startswith(("SBDK_", "PG")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    try:
        code = cli_in_process([*args, "--users", "30", "--quiet"])
    except SystemExit as exc:  # argparse's own refusal
        code = exc.code
    assert code == 2
    line = one_line(capsys.readouterr().err)
    assert needle in line, line
    assert list(tmp_path.iterdir()) == [], "nothing may be written before the settings are checked"


# ---------------------------------------------------------------- FIFOs and remote names (M7)


@pytest.mark.parametrize("command", [["generate", "--users", "5"], ["run", "--users", "30"]])
def test_a_fifo_is_refused_instead_of_waited_on(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "pipe.duckdb"
    os.mkfifo(fifo)
    result = subprocess.run([SBDK, *command, "--db", str(fifo)], cwd=tmp_path, env=ENV, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"--db {fifo} is a FIFO (named pipe), not a DuckDB file" in one_line(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.duckdb"]


@pytest.mark.parametrize("name", ["md:foo", "motherduck:foo", "s3://bucket/x.duckdb"])
def test_a_remote_database_name_is_refused(tmp_path: Path, name: str) -> None:
    result = subprocess.run([SBDK, "generate", "--users", "5", "--db", name], cwd=tmp_path, env=ENV,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is not a local file" in one_line(result.stderr)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- dbt's variables (M6)


def test_dbt_variables_that_change_the_build_are_not_passed_to_it(tmp_path: Path) -> None:
    """DBT_EMPTY would build every model empty and DBT_EXCLUDE_RESOURCE_TYPES=test skip the
    tests, and the run would still publish "passed"; a flag also wins over a bad variable of
    the same setting (--threads over $SBDK_DBT_THREADS, --memory-limit over
    $SBDK_DUCKDB_MEMORY_LIMIT)."""
    db = tmp_path / "x.duckdb"
    env = {**ENV, "DBT_EMPTY": "true", "DBT_EXCLUDE_RESOURCE_TYPES": "test", "DBT_ENGINE_EMPTY": "true",
           "SBDK_DBT_THREADS": "abc", "SBDK_DUCKDB_MEMORY_LIMIT": "garbage"}
    result = subprocess.run([SBDK, "run", "--users", "30", "--db", str(db), "--quiet", "--threads", "1",
                             "--memory-limit", "1GB"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    with duckdb.connect(str(db), read_only=True) as conn:
        users = conn.execute("select count(*) from raw.raw_users").fetchone()[0]
        staged = conn.execute("select count(*) from main.stg_users").fetchone()[0]
        metrics = conn.execute("select count(*) from main.user_metrics").fetchone()[0]
    assert users == staged == metrics == 30  # clean data: every generated user is a valid user
    results = json.loads((tmp_path / "x.duckdb.dbt" / "target" / "run_results.json").read_text())["results"]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert len(tests) > 50 and {r["status"] for r in tests} == {"pass"}
    # every model, seed and test; the package's on-run-start hook is no node of the build
    nodes = [r for r in results if not r["unique_id"].startswith("operation.")]
    assert len(results) == len(nodes) + 1
    assert f"dbt build: {len(nodes)} passed" in result.stdout


# ---------------------------------------------------------------- nothing of dbt's on stdout (M1)


def test_a_ctrl_c_while_dbt_starts_prints_no_traceback(tmp_path: Path) -> None:
    """A Ctrl-C while dbt reads its flags, before it has set up its own logging: dbt's
    fallback logger would print the traceback of the KeyboardInterrupt on stdout, in colour
    although stdout is no terminal."""
    proc = run_script("""
        import os, signal, sys, time
        import dbt.cli.flags
        from sbdk.cli import main

        real = dbt.cli.flags.read_project_flags

        def interrupted_here(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.3)  # the handler raises here
            return real(*args, **kwargs)

        dbt.cli.flags.read_project_flags = interrupted_here
        sys.exit(main(["run", "--users", "30", "--db", "x.duckdb", "--quiet"]))
    """, tmp_path)
    assert "Traceback" not in proc.stdout and "\x1b[" not in proc.stdout and "KeyboardInterrupt" not in proc.stdout
    assert proc.stdout.splitlines()[0].startswith("generated ") and len(proc.stdout.splitlines()) == 1
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert one_line(proc.stderr) == "sbdk: interrupted; no result was written to x.duckdb"


# ---------------------------------------------------------------- a full disk at the publish (M3)


def full_disk_at_the_rename_of(name: str, *run_args: str) -> str:
    """A script: `sbdk generate` writes 5 users into ``name``, then `sbdk run <run_args>` runs
    with the rename over ``name`` failing with ENOSPC (a full folder entry block, a quota)."""
    return textwrap.dedent(f"""
        import errno, os, sys
        from sbdk.cli import main

        assert main(["generate", "--users", "5", "--db", {name!r}]) == 0
        print("-- run --", flush=True)
        real_replace = os.replace

        def replace(src, dst, *args, **kwargs):
            if os.path.basename(dst) == {name!r}:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_replace(src, dst, *args, **kwargs)

        os.replace = replace
        sys.exit(main(["run", "--db", {name!r}, *{list(run_args)!r}]))
    """)


@pytest.mark.slow
def test_a_full_disk_at_the_publish_is_named_and_no_summary_is_printed(tmp_path: Path) -> None:
    proc = run_script(full_disk_at_the_rename_of("keep.duckdb", "--users", "30", "--quiet"), tmp_path)
    db = tmp_path / "keep.duckdb"
    out = proc.stdout.split("-- run --")[1]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = one_line(proc.stderr)
    assert "out of disk space (No space left on device)" in line, line
    assert f"{db} still holds the previous result" in line, line
    assert "dbt build: " in out  # the build ran and passed ...
    assert "rows per model" not in out and "now holds" not in out, out  # ... but nothing was published
    assert raw_users(db) == 5 and model_tables(db) == []
    assert not [p.name for p in tmp_path.iterdir() if "_sbdk_new_" in p.name]


@pytest.mark.slow
def test_a_write_ahead_log_left_by_a_full_disk_is_named(tmp_path: Path) -> None:
    """The build's last checkpoint (when dbt closes the new file) needs disk space: without it
    DuckDB keeps a write-ahead log beside the file. Here the build's writes end in such a log
    (checkpoints off), and a file-size limit makes folding it in fail as a full disk does."""
    proc = run_script("""
        import resource, signal, sys
        import duckdb
        import sbdk.pipeline as pipeline
        from sbdk.cli import main

        real = pipeline._generate_and_build

        def build_then_leave_a_log(settings, new, db, reporter):
            result = real(settings, new, db, reporter)
            with duckdb.connect(str(new)) as conn:
                conn.execute("pragma disable_checkpoint_on_shutdown")
                conn.execute("set checkpoint_threshold = '1TB'")
                for k in range(4):  # row groups below the size DuckDB writes to the file at once
                    conn.execute(f"create table main.padding_{k} as "
                                 "select range as i, md5(range::varchar) as h from range(100000)")
            # the disk is full from here on: the file cannot grow by another 256 KiB block
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            limit = new.stat().st_size + 2**16
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
            return result

        pipeline._generate_and_build = build_then_leave_a_log
        sys.exit(main(["run", "--users", "30", "--db", "fresh.duckdb", "--quiet"]))
    """, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = one_line(proc.stderr)
    assert "out of disk space" in line and "the new result was not published" in line, line
    assert "rows per model" not in proc.stdout and "now holds" not in proc.stdout, proc.stdout
    assert not (tmp_path / "fresh.duckdb").exists()
    assert not [p.name for p in tmp_path.iterdir() if "_sbdk_new_" in p.name]
