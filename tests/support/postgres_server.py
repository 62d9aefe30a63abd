"""A real PostgreSQL server for tests, from the binaries of `pgserver` (a pip package, so `make
test` installs it on a fresh machine).

`postgres_server()` makes a new cluster in a temporary folder, starts it on a free port of
127.0.0.1 only (no Unix socket, trust authentication), yields its SQLAlchemy URL (psycopg 3),
and at the end stops it and removes the folder. PostgreSQL refuses to run as root: as root, the
server runs as pgserver's own system user `pgserver` (created the way pgserver itself does).
"""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from pgserver._commands import POSTGRES_BIN_PATH as BIN
from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

from tests.support.prefect_server import free_port, tail

SYSTEM_USER = "pgserver"


def server_user(folder: Path) -> str | None:
    """The system user the server runs as: None (this one) unless this is root; then
    `pgserver`, given the folder and read access to the binaries."""
    if os.geteuid() != 0:
        return None
    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(BIN)
    ensure_folder_permissions(BIN, 0o055)
    ensure_folder_permissions(BIN.parent / "lib", 0o044)
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    return SYSTEM_USER


def run_as(user: str | None, *command: str) -> None:
    """Run one of the server's programs (as `user`), raising with its output when it fails."""
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        user=user,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")


def answers(url: str) -> bool:
    """Whether the server accepts a connection and a query."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("select 1")).scalar() == 1
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


@contextlib.contextmanager
def postgres_server(timeout: float = 60) -> Iterator[str]:
    """Start a fresh PostgreSQL on 127.0.0.1 in a temporary folder; yield its URL; stop it."""
    folder = Path(tempfile.mkdtemp(prefix="tempcast-postgres-"))
    data, log = folder / "data", folder / "server.log"
    try:
        user = server_user(folder)
        run_as(user, "initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        port = free_port()
        options = f"-h 127.0.0.1 -p {port} -k ''"
        run_as(user, "pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        try:
            deadline = time.monotonic() + timeout
            while not answers(url):
                assert time.monotonic() < deadline, f"postgres did not answer:\n{tail(log)}"
                time.sleep(0.2)
            yield url
        finally:
            run_as(user, "pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
