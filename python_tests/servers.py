"""A throw-away PostgreSQL server for the test run.

``temporary_postgres()`` runs ``initdb`` into a fresh temporary folder, starts the server on a
free loopback port (no other address, its socket in that folder) and stops it and deletes the
folder on the way out, whatever happened in between. PostgreSQL refuses to run as root: under
root the server runs as the ``postgres`` user (or ``nobody``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found on PATH or in /usr/lib/postgresql/*/bin: install the "
            "PostgreSQL server binaries, or point SBDK_PG_HOST/SBDK_PG_PORT at an existing server"
        )
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> str | None:
    """The account the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no 'postgres' or 'nobody' account to run PostgreSQL as")


@contextmanager
def temporary_postgres(port_attempts: int = 3) -> Iterator[dict[str, str]]:
    """Start a PostgreSQL server; yield its connection settings (``SBDK_PG_*`` names)."""
    user = _server_user()
    base = Path(tempfile.mkdtemp(prefix="sbdk-pg-"))
    data, sockets, log = base / "data", base / "sockets", base / "server.log"
    sockets.mkdir()
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (base, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    run_as = {"user": user} if user is not None else {}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=base, **run_as)

    pid: int | None = None
    try:
        init = run(_pg_binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                   "--no-sync", "-E", "UTF8", "--locale=C")
        if init.returncode != 0:
            who = f" (the server runs as {user!r}: its folder {base} must be reachable by that account)" if user else ""
            raise RuntimeError(f"initdb failed{who}: {init.stderr.strip() or init.stdout.strip()}")
        for _ in range(port_attempts):  # another process may take the port in between
            port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={sockets} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
            start = run(_pg_binary("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                        "-o", options, "start")
            if start.returncode == 0:
                break
        else:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"the PostgreSQL server did not start: {start.stderr.strip()}\n{tail}")
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield {"HOST": "127.0.0.1", "PORT": str(port), "USER": "postgres", "PASSWORD": "", "DATABASE": "postgres"}
    finally:
        if pid is not None:
            run(_pg_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop")
            _kill_if_alive(pid)
        shutil.rmtree(base, ignore_errors=True)


def _kill_if_alive(pid: int, wait: float = 10.0) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    except ProcessLookupError:
        pass
