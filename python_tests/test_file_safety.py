"""The database and the files beside it in a folder other users can write to: no symbolic link,
planted file or race turns `sbdk` against the user who runs it, `sbdk run` replaces only its
own result, the lock belongs to the file, and derived names neither collide nor overflow.

The other user is `nobody` (the tests that need one run as root and switch to it with
`setpriv` for the attacker's steps); the victim's commands run as the test's own user."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

SBDK = str(Path(sys.executable).with_name("sbdk"))
ENV = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
ENV.pop("SBDK_DUCKDB_PATH", None)
NOBODY = 65534  # uid and gid of nobody / nogroup

needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="acts as a second user: needs root and setpriv")


def sbdk(*args: str | bytes, cwd: Path | bytes) -> subprocess.CompletedProcess:
    return subprocess.run([SBDK, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)


def as_nobody(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd],
                          capture_output=True, text=True, timeout=60)


def attacker(*cmd: str) -> None:
    """A step of the other user's that must succeed."""
    result = as_nobody(*cmd)
    assert result.returncode == 0, (cmd, result.stderr)


def assert_one_line_error(result: subprocess.CompletedProcess, exit_code: int, *needles: str) -> None:
    assert result.returncode == exit_code, (result.returncode, result.stdout[-2000:], result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"


def generated(db: Path, users: int = 20) -> Path:
    """An sbdk result to start from: the raw tables (`sbdk generate`, in this process)."""
    from sbdk.options import GenerateSettings
    from sbdk.pipeline import generate_raw

    generate_raw(GenerateSettings(db=db, users=users))
    return db


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder every user may write to (sticky, like /tmp), in the system's temporary folder
    (the test's own tmp_path is private to its user)."""
    folder = Path(tempfile.mkdtemp(prefix="sbdk-shared-"))
    folder.chmod(0o1777)
    try:
        if as_nobody("test", "-w", str(folder)).returncode != 0:
            pytest.skip(f"the other user cannot reach {folder}")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def victim_file(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_text("the victim's data\n")
    return victim


# ---------------------------------------------------------------- S1: the lock file


@needs_root
@pytest.mark.parametrize("command", ["generate", "run"])
def test_a_planted_lock_symlink_is_not_followed(shared: Path, tmp_path: Path, command: str) -> None:
    victim = victim_file(tmp_path)
    db = shared / "a.duckdb"
    attacker("ln", "-s", str(victim), f"{db}.lock")
    result = sbdk(command, "--users", "20", "--quiet", "--db", str(db), cwd=tmp_path)
    assert_one_line_error(result, 2, f"{db}.lock", "symbolic link")
    assert victim.read_text() == "the victim's data\n"
    assert not db.exists()


@needs_root
def test_another_users_lock_file_is_refused(shared: Path, tmp_path: Path) -> None:
    db = shared / "a.duckdb"
    attacker("touch", f"{db}.lock")
    result = sbdk("generate", "--users", "20", "--quiet", "--db", str(db), cwd=tmp_path)
    assert_one_line_error(result, 2, f"{db}.lock", "belongs to nobody")
    assert not db.exists()


# ---------------------------------------------------------------- S2: the new file


class _Stop(Exception):
    pass


@needs_root
def test_the_new_file_cannot_be_planted_by_another_user(shared: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The moment the issue's attacker won: the run has named its new file and is about to
    create it. The other user plants a symbolic link to another of the victim's DuckDB files
    under that name; the generation then runs (and the test stops the run after it)."""
    from sbdk import pipeline
    from sbdk.options import RunSettings

    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as conn:
        conn.execute("create table precious as select 42 as answer")
    before = other.read_bytes()
    db = shared / "a.duckdb"
    planted = []
    real_generate = pipeline._generate

    def attacked(path: Path, settings: object, *args: object) -> None:
        planted.append(as_nobody("ln", "-s", str(other), str(path)).returncode == 0)
        real_generate(path, settings, *args)
        raise _Stop

    monkeypatch.setattr(pipeline, "_generate", attacked)
    with pytest.raises(_Stop):
        pipeline.run_pipeline(RunSettings(db=db, users=20))
    assert planted == [False], "the other user could create the run's new file"
    assert other.read_bytes() == before
    assert not db.exists()
    assert [p.name for p in shared.iterdir() if "_sbdk_new_" in p.name] == []


@needs_root
def test_only_the_runners_build_folders_of_dead_runs_are_removed(shared: Path, tmp_path: Path) -> None:
    from sbdk.runfile import BuildDir, remove_leftovers

    db = shared / "a.duckdb"
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import sys, time
            from pathlib import Path
            from sbdk.runfile import BuildDir
            build = BuildDir(Path(sys.argv[1])).__enter__()
            print(build.path, flush=True)
            time.sleep(600)
        """), str(db)], stdout=subprocess.PIPE, text=True, env=ENV)
    dead = Path(child.stdout.readline().strip())
    child.kill()  # as kill -9 mid-run: the folder stays, its lock goes with the process
    child.wait(timeout=30)
    assert dead.is_dir() and dead.parent == shared
    assert stat.S_IMODE(dead.stat().st_mode) == 0o700
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep").write_text("x")
    prefix = dead.name[:-8]  # tempfile.mkdtemp's random part is 8 characters
    foreign, link = shared / f"{prefix}nobodys0", shared / f"{prefix}symlink0"
    attacker("mkdir", str(foreign))
    attacker("ln", "-s", str(precious), str(link))
    with BuildDir(db) as live:
        assert remove_leftovers(db) == [dead]
        assert live.path.is_dir()
    assert not dead.exists()
    assert foreign.is_dir() and link.is_symlink() and (precious / "keep").exists()


# ---------------------------------------------------------------- S3: the work folder


@needs_root
@pytest.mark.parametrize("plant", ["another user's folder", "another user's file inside", "writable by others"])
def test_an_untrusted_work_folder_is_refused(shared: Path, tmp_path: Path, plant: str) -> None:
    victim = victim_file(tmp_path)
    db = shared / "a.duckdb"
    # the work folder's name of the previous version (a.dbt) and of this one (from the whole name)
    for work in (shared / "a.dbt", shared / "a.duckdb.dbt"):
        if plant == "another user's folder":
            attacker("mkdir", "-p", str(work / "logs"))
            attacker("ln", "-s", str(victim), str(work / "logs" / "dbt.log"))
            needle = "belongs to nobody"
        elif plant == "another user's file inside":
            # the folder was writable once, the other user planted dbt's parse cache in it
            (work / "target").mkdir(parents=True)
            for folder in (work, work / "target"):
                folder.chmod(0o777)
            attacker("sh", "-c", f"printf junk > '{work}/target/partial_parse.msgpack'")
            for folder in (work, work / "target"):
                folder.chmod(0o700)
            needle = "partial_parse.msgpack, which belongs to nobody"
        else:
            work.mkdir()
            work.chmod(0o777)
            needle = "can be written by other users"
    result = sbdk("run", "--users", "20", "--quiet", "--db", str(db), cwd=tmp_path)
    assert_one_line_error(result, 2, "a.duckdb.dbt", needle)
    assert victim.read_text() == "the victim's data\n"
    assert not db.exists()


# ---------------------------------------------------------------- S4: the published file


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The builds this file shares: two runs in one folder on names of 244 and 243 bytes
    (legal; the new file's name used to be too long) that share their stem, the first ending
    in .dbt (which used to be its own work folder), run over a previous result of mode 0640
    owned by nobody:nogroup (the owner when the tests run as root)."""
    folder = tmp_path_factory.mktemp("two_runs")
    stem = "n" * 240
    dbs = [folder / f"{stem}.dbt", folder / f"{stem}.db"]
    generated(dbs[0])
    if os.geteuid() == 0:
        os.chown(dbs[0], NOBODY, NOBODY)
    dbs[0].chmod(0o640)
    for db in dbs:
        result = sbdk("run", "--users", "20", "--quiet", "--db", str(db), cwd=folder)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    return dbs


@pytest.mark.slow
def test_the_published_file_keeps_mode_group_and_owner(two_runs: list[Path]) -> None:
    st = two_runs[0].stat()
    assert oct(stat.S_IMODE(st.st_mode)) == oct(0o640)
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)
    with duckdb.connect(str(two_runs[0]), read_only=True) as conn:
        assert conn.execute("select count(*) from main.user_metrics").fetchone()[0] == 20


# ---------------------------------------------------------------- D1: what sbdk run replaces


def _make(kind: str, path: Path) -> None:
    if kind == "text file":
        path.write_text("my notes\n")
    elif kind == "PostgreSQL dump":
        path.write_text("--\n-- PostgreSQL database dump\n--\nCREATE TABLE public.accounts (id integer);\n")
    elif kind == "DuckDB file with other tables":
        with duckdb.connect(str(path)) as conn:
            conn.execute("create table main.accounts as select 1 as id")
    elif kind == "FIFO":
        os.mkfifo(path)
    else:
        try:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
        except PermissionError:
            pytest.skip("cannot make a device node here")


def _describe(path: Path) -> tuple:
    st = os.lstat(path)
    content = path.read_bytes() if stat.S_ISREG(st.st_mode) else b""
    return stat.S_IFMT(st.st_mode), st.st_ino, st.st_rdev, content


@pytest.mark.parametrize("kind", ["text file", "PostgreSQL dump", "DuckDB file with other tables", "FIFO",
                                  "character device"])
def test_run_replaces_only_an_sbdk_result(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "target.duckdb"
    _make(kind, db)
    before = _describe(db)
    result = sbdk("run", "--users", "20", "--quiet", "--db", str(db), cwd=tmp_path)
    assert_one_line_error(result, 2, str(db), "not a DuckDB file" if kind != "DuckDB file with other tables"
                          else "without sbdk's raw tables")
    assert _describe(db) == before
    assert [p.name for p in tmp_path.iterdir()] == ["target.duckdb"], "nothing may be written beside it"


# ---------------------------------------------------------------- D2: another process on the file


_HOLDER = textwrap.dedent("""
    import sys, duckdb
    conn = duckdb.connect(sys.argv[1])
    conn.execute("create table main.notes as select 'mine' as note")
    if sys.argv[2] == "checkpointed":
        conn.execute("checkpoint")
    print("ready", flush=True)
    sys.stdin.read()
    conn.execute("insert into main.notes values ('later')")
    conn.close()
""")


def _hold(db: Path, how: str) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db), how], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ready"
    return holder


def _notes(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return sorted(r[0] for r in conn.execute("select note from main.notes").fetchall())


def test_a_run_refuses_a_file_another_process_writes(tmp_path: Path) -> None:
    db = generated(tmp_path / "busy.duckdb")
    inode = db.stat().st_ino
    holder = _hold(db, "checkpointed")
    try:
        result = sbdk("run", "--users", "20", "--quiet", "--db", str(db), cwd=tmp_path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert_one_line_error(result, 1, str(db), "in use by another process")
    assert db.stat().st_ino == inode
    assert _notes(db) == ["later", "mine"]  # the holder's writes after the run are in the file


@pytest.mark.parametrize("how", ["checkpointed", "with its log"])
def test_publish_stops_at_a_writer_that_came_during_the_build(tmp_path: Path, how: str) -> None:
    from sbdk.options import CliError
    from sbdk.runfile import publish

    db = generated(tmp_path / "busy.duckdb")
    inode = db.stat().st_ino
    new = tmp_path / "build" / "new.duckdb"
    new.parent.mkdir()
    with duckdb.connect(str(new)) as conn:
        conn.execute("create table t as select 1 as x")
    holder = _hold(db, how)
    try:
        with pytest.raises(CliError, match="in use by another process"):
            publish(new, db)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert db.stat().st_ino == inode and new.is_file()
    assert _notes(db) == ["later", "mine"]


# ---------------------------------------------------------------- D3: the lock is the file's


@pytest.mark.parametrize("name", ["symbolic link", "hard link"])
def test_the_lock_is_on_the_file_not_on_its_name(tmp_path: Path, name: str) -> None:
    from sbdk.runfile import RunLock

    real = generated(tmp_path / "real.duckdb")
    other = tmp_path / "other.duckdb"
    if name == "symbolic link":
        other.symlink_to(real)
    else:
        os.link(real, other)
    before = real.read_bytes()
    with RunLock(real):  # what `sbdk run --db real.duckdb` holds for its whole run
        result = sbdk("generate", "--users", "30", "--quiet", "--db", str(other), cwd=tmp_path)
    assert_one_line_error(result, 1, str(other), "in use by another sbdk command")
    assert real.read_bytes() == before


# ---------------------------------------------------------------- M5: derived names


@pytest.mark.slow
def test_long_names_that_share_a_stem_each_have_their_own_work_folder(two_runs: list[Path]) -> None:
    for db in two_runs:
        assert db.is_file()
        with duckdb.connect(str(db), read_only=True) as conn:
            assert conn.execute("select count(*) from main.user_metrics").fetchone()[0] == 20
        assert (db.parent / f"{db.name}.dbt" / "logs" / "dbt.log").is_file()
    # nothing else beside them: no lock file, no build folder
    assert sorted(p.name.lstrip("n") for p in two_runs[0].parent.iterdir()) == [".db", ".db.dbt", ".dbt", ".dbt.dbt"]


def test_a_name_too_long_for_the_lock_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    db = tmp_path / ("n" * 245 + ".duckdb")  # 252 bytes: a legal name, <name>.lock would not be
    result = sbdk("generate", "--users", "5", "--db", str(db), cwd=tmp_path)
    assert_one_line_error(result, 2, "252 bytes", "at most 250")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["folder", "file name", "working folder"])
def test_a_path_that_is_not_utf8_is_one_line(tmp_path: Path, where: str) -> None:
    bad = os.fsencode(tmp_path) + b"/caf\xe9"
    if where == "file name":
        args, cwd = [b"generate", b"--users", b"5", b"--db", bad + b".duckdb"], tmp_path
    else:
        os.mkdir(bad)
        args, cwd = ([b"generate", b"--users", b"5", b"--db", bad + b"/x.duckdb"], tmp_path) if where == "folder" \
            else ([b"run", b"--users", b"20", b"--db", b"x.duckdb"], bad)
    result = sbdk(*args, cwd=cwd)
    assert_one_line_error(result, 2, "not valid UTF-8")
    assert os.listdir(os.fsencode(tmp_path)) == ([] if where == "file name" else [os.path.basename(bad)])
    if where != "file name":
        assert os.listdir(bad) == []


def test_generate_into_a_file_named_like_the_raw_schema(tmp_path: Path) -> None:
    db = tmp_path / "raw.duckdb"  # DuckDB names the file's catalog "raw", like the schema
    result = sbdk("generate", "--users", "20", "--dirty", "0.1", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(db), read_only=True) as conn:  # catalog.schema.table: unambiguous
        rows = conn.execute("select count(*) from raw.raw.raw_users").fetchone()[0]
    # the expected flags (counted after the write, in the same file) cover every row written
    lines = result.stdout.splitlines()
    flags = lines[lines.index("expected flags:") + 3:]
    flagged = sum(int(line.split()[-1].replace(",", "")) for line in flags if line.startswith("raw_users "))
    assert rows >= 20 and flagged == rows, result.stdout
