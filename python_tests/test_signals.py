"""The command line's SIGINT handling (`sbdk._signals`), in a process of its own: a Ctrl-C
that lands where Python can only print it still stops the command, silently, and a Ctrl-C
after the publish changes nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb


def run_script(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_an_interrupt_raised_in_a_finaliser_is_delivered_again(tmp_path: Path) -> None:
    # the first Ctrl-C arrives while the main thread runs a __del__: Python cannot raise it
    # there ("Exception ignored in ..." on stderr) and would carry on as if it never came
    proc = run_script("""
        import os, signal, time
        from sbdk._signals import install_first_interrupt_handler
        install_first_interrupt_handler()

        class Finalised:
            def __del__(self):
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(100_000):  # the handler runs in here
                    pass

        try:
            Finalised()
            for _ in range(50):
                time.sleep(0.1)
            print("carried on")
        except KeyboardInterrupt:
            print("interrupted")
    """, tmp_path)
    assert proc.stdout.split() == ["interrupted"], proc.stdout + proc.stderr
    assert proc.stderr == ""


def test_a_ctrl_c_after_the_publish_changes_nothing(tmp_path: Path) -> None:
    for name in ("new.duckdb", "old.duckdb"):
        with duckdb.connect(str(tmp_path / name)) as conn:
            conn.execute(f"create table t as select '{name}' as origin")
    proc = run_script("""
        import os, signal, sys, time
        from pathlib import Path
        from sbdk._signals import install_first_interrupt_handler
        from sbdk.runfile import publish
        install_first_interrupt_handler()
        publish(Path("new.duckdb"), Path("old.duckdb"))
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)
        print("published")
    """, tmp_path)
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, "published", "")
    with duckdb.connect(str(tmp_path / "old.duckdb"), read_only=True) as conn:
        assert conn.execute("select origin from t").fetchone() == ("new.duckdb",)


def test_the_command_line_loads_only_light_modules_before_its_ctrl_c_handling(tmp_path: Path) -> None:
    # until `main` installs the handler, a Ctrl-C is Python's own traceback: the window is
    # what `import sbdk.cli` loads (logging, pathlib and typing took 40 ms of it)
    result = run_script("""
        import sys
        before = set(sys.modules)
        import sbdk.cli
        print(" ".join(sorted(set(sys.modules) - before)))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "sbdk.cli" in loaded
    heavy = {"logging", "pathlib", "typing", "argparse", "duckdb", "dbt", "sbdk.options", "sbdk.pipeline"}
    assert loaded & heavy == set()


def test_a_stopped_command_with_a_thread_inside_duckdb_exits_cleanly(tmp_path: Path) -> None:
    # a thread of dbt still inside a DuckDB query when the stopped command returns: Python's
    # shutdown ended it with pthread_exit, which DuckDB turned into an abort after the
    # command's line ("FATAL: exception not rethrown", exit -6), the cause of a failure of
    # test_interrupted_run_keeps_the_previous_result[SIGINT-build]
    result = run_script("""
        import sys, threading, time
        import duckdb
        import sbdk.cli

        def query():
            con = duckdb.connect()
            con.create_function("plus_one", lambda x: x + 1, ["BIGINT"], "BIGINT")
            con.execute("select sum(plus_one(range)) from range(100000000)").fetchall()

        def stopped_main(argv=None):
            threading.Thread(target=query, daemon=True).start()
            time.sleep(0.5)
            print("sbdk: interrupted; nothing was written", file=sys.stderr)
            return 130

        sbdk.cli.main = stopped_main
        sbdk.cli.console_main()
    """, tmp_path)
    assert (result.returncode, result.stderr) == (130, "sbdk: interrupted; nothing was written\n")
