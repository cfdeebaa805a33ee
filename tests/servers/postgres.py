"""A throwaway PostgreSQL server for tests (Debian's postgresql package), on 127.0.0.1 and a
free port, in a temporary folder. As root the server runs as the ``postgres`` user, because
initdb and pg_ctl refuse root."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile


def postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(p.split("/")[-3]))
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
        self.bin = bin_dir
        self.root = tempfile.mkdtemp(prefix="pg-test-")  # /tmp: the postgres user can enter
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.getuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                           "--clear-groups"]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, text=True,
                       cwd=self.root)

    def start(self) -> PostgresServer:
        data = f"{self.root}/data"
        self._run(f"{self.bin}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E",
                  "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200 -c shared_buffers=32MB")
        self._options = options
        self.resume()
        return self

    def pause(self) -> None:
        """Stops the server (its data stays): what a client sees in a restart or failover."""
        self._run(f"{self.bin}/pg_ctl", "-D", f"{self.root}/data", "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self._run(f"{self.bin}/pg_ctl", "-D", f"{self.root}/data", "-l", f"{self.root}/pg.log",
                  "-o", self._options, "-w", "-t", "30", "start")

    def create_database(self, name: str) -> str:
        import psycopg
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg
        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                                 dbname="postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error:
            pass  # the server goes at the end of the session anyway

    def stop(self) -> None:
        try:
            self._run(f"{self.bin}/pg_ctl", "-D", f"{self.root}/data", "-m", "immediate", "-w",
                      "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
