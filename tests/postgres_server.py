"""Start a throwaway, real PostgreSQL server from Debian's binaries for tests.

Usage::

    with PostgresServer() as pg:
        url = pg.create_database("seedbed_test")
        engine = sqlalchemy.create_engine(url)
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

__all__ = ["PostgresServer", "find_postgres_bin_dir"]

_PG_LIB_DIR = Path("/usr/lib/postgresql")
_SERVICE_USER = "postgres"
_LOG_TAIL_LINES = 40
_COMMAND_TIMEOUT_S = 90


def find_postgres_bin_dir() -> Path:
    """Return the bin dir of the highest PostgreSQL version installed by Debian."""
    candidates: list[tuple[int, Path]] = []
    if _PG_LIB_DIR.is_dir():
        for version_dir in _PG_LIB_DIR.iterdir():
            bin_dir = version_dir / "bin"
            if not version_dir.name.isdigit():
                continue
            if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
                candidates.append((int(version_dir.name), bin_dir))
    if not candidates:
        raise RuntimeError(
            f"no PostgreSQL server binaries (initdb, pg_ctl) found in {_PG_LIB_DIR}/*/bin; "
            "install Debian's postgresql package (apt-get install -y postgresql)"
        )
    return max(candidates)[1]


def _free_port() -> int:
    # The port is released before postgres binds it, so a race is possible but
    # unlikely; a collision surfaces as a start failure with the log attached.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _others_can_traverse(path: Path) -> bool:
    """True if every directory from / down to ``path`` is searchable by others."""
    return all(os.stat(d).st_mode & stat.S_IXOTH for d in (path, *path.parents))


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:])


class PostgresServer:
    """A private PostgreSQL cluster in a temporary directory, on a random port."""

    def __init__(self) -> None:
        self._bin_dir = find_postgres_bin_dir()
        # PostgreSQL refuses to run as root, so root drops to the service user.
        self._as_root = os.geteuid() == 0
        self._root_dir: Path | None = None
        self._port: int | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> PostgresServer:
        if self._root_dir is not None:
            raise RuntimeError("PostgresServer is already started")
        self._root_dir = self._make_root_dir()
        try:
            self._initdb()
            self._port = _free_port()
            self._pg_ctl_start(self._port)
        except BaseException:
            self._port = None
            self._remove_root_dir()
            raise
        return self

    def stop(self) -> None:
        """Stop the server immediately and delete its data directory. Idempotent."""
        if self._root_dir is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._stop_server()
        finally:
            self._port = None
            self._remove_root_dir()

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- public accessors --------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("PostgresServer is not running")
        return self._port

    @property
    def root_dir(self) -> Path:
        """Temporary directory holding the data dir, socket dir and log file."""
        if self._root_dir is None:
            raise RuntimeError("PostgresServer is not started")
        return self._root_dir

    @property
    def data_dir(self) -> Path:
        return self.root_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.root_dir / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL for ``dbname`` on this server (user postgres, trust auth)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL."""
        # CREATE DATABASE cannot run inside a transaction block.
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    # -- internals ---------------------------------------------------------

    def _make_root_dir(self) -> Path:
        base = Path(tempfile.gettempdir())
        if self._as_root and not _others_can_traverse(base):
            # The service user must be able to reach its data directory.
            base = Path("/tmp")
        root_dir = Path(tempfile.mkdtemp(prefix="seedbed-pg-", dir=base))
        (root_dir / "sock").mkdir()
        if self._as_root:
            # mkdtemp yields a root-owned 0700 dir; hand the whole tree over.
            service_user = pwd.getpwnam(_SERVICE_USER)
            for path in (root_dir, root_dir / "sock"):
                os.chown(path, service_user.pw_uid, service_user.pw_gid)
        return root_dir

    def _remove_root_dir(self) -> None:
        if self._root_dir is not None:
            shutil.rmtree(self._root_dir, ignore_errors=True)
            self._root_dir = None

    def _command(self, program: str, *args: str) -> list[str]:
        argv = [str(self._bin_dir / program), *args]
        if self._as_root:
            argv = ["runuser", "-u", _SERVICE_USER, "--", *argv]
        return argv

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        # cwd: the service user may not be able to access the caller's cwd.
        return subprocess.run(
            argv,
            cwd=self.root_dir,
            capture_output=True,
            text=True,
            timeout=_COMMAND_TIMEOUT_S,
            check=False,
        )

    def _initdb(self) -> None:
        result = self._run(
            self._command(
                "initdb",
                "-D",
                str(self.data_dir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
            )

    def _pg_ctl_start(self, port: int) -> None:
        server_options = " ".join(
            [
                f"-p {port}",
                f"-k {shlex.quote(str(self.root_dir / 'sock'))}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        result = self._run(
            self._command(
                "pg_ctl",
                "-w",
                "-D",
                str(self.data_dir),
                "-o",
                server_options,
                "-l",
                str(self.log_file),
                "start",
            )
        )
        if result.returncode != 0:
            # A half-started postmaster may still be around; don't leak it.
            if (self.data_dir / "postmaster.pid").exists():
                self._stop_server()
            raise RuntimeError(
                f"pg_ctl start failed (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n"
                f"--- server log (tail) ---\n{_tail(self.log_file)}"
            )

    def _stop_server(self) -> None:
        result = self._run(
            self._command("pg_ctl", "-w", "-D", str(self.data_dir), "-m", "immediate", "stop")
        )
        if result.returncode != 0:
            self._kill_postmaster()

    def _kill_postmaster(self) -> None:
        """Last resort when pg_ctl cannot stop the server: SIGKILL the postmaster by PID."""
        try:
            first_line = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            os.kill(int(first_line), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass
