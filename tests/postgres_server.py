"""A throwaway PostgreSQL server for tests and make bench-db: Debian's binaries, a cluster made by
initdb in a temporary directory, listening on 127.0.0.1 only, stopped and deleted at the end.

    with temporary_postgres() as pg:
        pool = await asyncpg.create_pool(pg.dsn)

PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user that
Debian's package creates (the directory is handed to it). ``available()`` says why it can't start.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
USER = "bench"
PASSWORD = "bench"
DATABASE = "bench"
READY_TIMEOUT = 30.0


def bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin with initdb and postgres, or the one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def available() -> str | None:
    """None when a server can be started here, else why not (for a skip or an error message)."""
    if bin_dir() is None:
        return "PostgreSQL's initdb is not installed (Debian package postgresql; make test-programs)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run PostgreSQL as"
    return None


@dataclass(frozen=True)
class Postgres:
    port: int
    data: Path

    @property
    def dsn(self) -> str:
        return f"postgresql://{USER}:{PASSWORD}@{HOST}:{self.port}/{DATABASE}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _as_owner(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Runs a PostgreSQL program as the cluster's owner (``postgres`` when we are root)."""
    if os.geteuid() == 0:
        # subprocess switches user in C between fork and exec: a preexec_fn would run Python in
        # the forked child, which deadlocks when another thread held a lock at the fork (it did,
        # on free-threaded 3.13, where the TestClient's threads run alongside).
        owner = pwd.getpwnam("postgres")
        kwargs = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": [], **kwargs}
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]


@contextlib.contextmanager
def temporary_postgres(max_connections: int = 200) -> Iterator[Postgres]:
    why = available()
    if why:
        raise RuntimeError(why)
    binaries = bin_dir()
    assert binaries is not None
    root = Path(tempfile.mkdtemp(prefix="turboapi-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    try:
        made = _as_owner(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                f"--pwfile={pwfile}",
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            cwd=root,
        )
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stderr.strip() or made.stdout.strip()}")
        port = _free_port()
        options = (
            f"-h {HOST} -p {port} -k {root} -c max_connections={max_connections} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=128MB"
        )
        started = _as_owner(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "log"),
                "-o",
                options,
                "-w",
                "-t",
                str(int(READY_TIMEOUT)),
                "start",
            ],
            cwd=root,
        )
        if started.returncode != 0:
            log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()} {log[-2000:]}")
        try:
            created = _as_owner(
                [str(binaries / "createdb"), "-h", HOST, "-p", str(port), "-U", USER, DATABASE],
                cwd=root,
                env={**os.environ, "PGPASSWORD": PASSWORD},
            )
            if created.returncode != 0:
                raise RuntimeError(f"createdb failed: {created.stderr.strip()}")
            yield Postgres(port=port, data=data)
        finally:
            _as_owner([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], cwd=root)
            time.sleep(0.1)
    finally:
        shutil.rmtree(root, ignore_errors=True)
