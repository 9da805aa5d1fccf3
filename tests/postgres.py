"""A throwaway PostgreSQL server for the ledger tests: one per session, one database per test.

The server is Debian's ``postgresql`` package's binaries (``initdb``, ``pg_ctl``), found on
``PATH`` or in ``/usr/lib/postgresql/<version>/bin``; ``make test`` installs the package when
it is missing and it can (root with apt-get). The cluster lives in a temporary folder, listens
on 127.0.0.1 on a free port (and a socket in that folder, never the system's), trusts local
connections, skips fsync (a test's data need not survive a power cut), and is stopped and
deleted at the end of the session. As root, it runs as the ``postgres`` user: PostgreSQL
refuses to run as root.

Without the binaries, or when the server cannot start, every test that asks for it skips with
one line saying what was missing; nothing fails because PostgreSQL is absent.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
"""The cluster's superuser (``initdb -U``) and, as root, the system user it runs as."""
INSTALL_HINT = "install Debian's postgresql package (make test does when run as root)"


def server_binaries() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl``: on ``PATH``, else the newest
    ``/usr/lib/postgresql/<version>/bin`` (Debian keeps them off ``PATH``)."""
    found = shutil.which("pg_ctl")
    if found is not None and (Path(found).parent / "initdb").exists():
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                      else 0)
    for pg_ctl in reversed(versions):
        if (pg_ctl.parent / "initdb").exists():
            return pg_ctl.parent
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """A running cluster: its binaries, folder and port; databases are made on demand."""

    bindir: Path
    folder: Path
    port: int
    run_as: str | None
    """The system user the server runs as (``postgres`` when we are root), else ourselves."""

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql+psycopg://`` URL of ``database`` (trusted: no password)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / tool), *args]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False,
                              cwd=self.folder)

    def _pg_ctl(self, action: str, *args: str) -> None:
        done = self._run("pg_ctl", action, "-D", str(self.data), *args)
        if done.returncode != 0:
            log = (self.folder / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl {action} failed: {done.stderr.strip()}\n{log}")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   f"-c unix_socket_directories={self.folder} -c fsync=off "
                   f"-c full_page_writes=off -c max_connections=200")
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.folder / "server.log"),
                     "-o", options)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` ends every session (a restart), ``immediate`` kills
        it without a checkpoint (a crash; the next start recovers from the WAL)."""
        self._pg_ctl("stop", "-w", "-t", "60", "-m", mode)

    def create_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"test_{next(_NUMBERS)}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)


_NUMBERS = itertools.count(1)


def _server_user() -> str | None:
    """Who runs the server: ourselves, or the ``postgres`` user when we are root (the
    server refuses root). Raises ``LookupError`` when we are root and that user is missing."""
    if os.geteuid() != 0:
        return None
    pwd.getpwnam(SUPERUSER)  # KeyError is a LookupError
    if shutil.which("runuser") is None:
        raise LookupError("runuser")
    return SUPERUSER


def start_server() -> PostgresServer:
    """Initialise and start a cluster in a new temporary folder; ``pytest.skip`` with one line
    naming what was missing when that is not possible here."""
    bindir = server_binaries()
    if bindir is None:
        pytest.skip(f"PostgreSQL server binaries (initdb, pg_ctl) not found: {INSTALL_HINT}")
    try:
        import psycopg  # noqa: F401 - the ledger's driver, the postgres extra
    except ImportError:
        pytest.skip("psycopg not installed: pip install -e '.[test]' (the postgres extra)")
    try:
        run_as = _server_user()
    except LookupError as missing:
        pytest.skip(f"running as root without the '{missing.args[0]}' user or tool to run "
                    f"PostgreSQL as: {INSTALL_HINT}")
    folder = Path(tempfile.mkdtemp(prefix="ffb-postgres-"))
    if run_as is not None:
        shutil.chown(folder, user=run_as)
    server = PostgresServer(bindir, folder, _free_port(), run_as)
    init = server._run("initdb", "-D", str(server.data), "-U", SUPERUSER, "--auth=trust",
                       "-E", "UTF8", "--no-sync", "--no-instructions")
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip().splitlines()[-1:]}")
    try:
        server.start()
    except RuntimeError as error:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"the PostgreSQL server did not start: {str(error).splitlines()[0]}")
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole session (or a skip saying why not)."""
    server = start_server()
    try:
        yield server
    finally:
        try:
            server.stop("immediate")
        except RuntimeError:
            pass  # stopped already (a test's restart that failed): nothing left to stop
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database of the session's server, for this test alone."""
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The ledger's URL on each backend: an SQLite file in the test's folder, and a fresh
    PostgreSQL database (the test skips, saying why, where there is no server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


def backend(url: str) -> str:
    """``"sqlite"`` or ``"postgresql"``: the backend a ``ledger_url`` runs on.

    >>> backend("postgresql+psycopg://u@h/d"), backend("sqlite:///x.sqlite")
    ('postgresql', 'sqlite')
    """
    return url.partition(":")[0].partition("+")[0]


def read_only(url: str) -> str:
    """The same ledger opened read-only: SQLite's read-only URI, PostgreSQL's read-only
    transactions (every write is then refused by the server, as a role without rights is)."""
    if url.startswith("sqlite:///"):
        return f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    return f"{url}?options=-cdefault_transaction_read_only%3Don"


__all__ = ["PostgresServer", "backend", "ledger_url", "postgres_server", "postgres_url",
           "read_only", "server_binaries", "start_server"]
