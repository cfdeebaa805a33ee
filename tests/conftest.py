"""Shared test helpers: a working folder per test and the CLI run in-process or for real.

Every test that touches the database through ``workdir`` or ``database_url`` runs twice:
on SQLite and on a real PostgreSQL (Debian's server, started once per test session in a
temporary folder; a fresh database per test). ``PEC_TEST_DATABASES=sqlite`` (or
``postgresql``) runs one of the two; ``@pytest.mark.sqlite_only`` keeps a test that is about
SQLite itself (its file, its defaults) to the first."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
DATABASE_ENV = "PEC_INTAKE_DATABASE_URL"  # config.settings.DEFAULT_DATABASE_ENV
BACKENDS = [b.strip() for b in os.environ.get("PEC_TEST_DATABASES",
                                              "sqlite,postgresql").split(",") if b.strip()]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: about SQLite itself; no PostgreSQL pass")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames:
        backends = BACKENDS
        if metafunc.definition.get_closest_marker("sqlite_only"):
            backends = [b for b in BACKENDS if b == "sqlite"] or ["sqlite"]
        metafunc.parametrize("db_backend", backends, indirect=True)


@pytest.fixture(scope="session")
def postgres_server():  # noqa: ANN201
    """One throwaway PostgreSQL for the session (tests/servers/postgres.py)."""
    from tests.servers.postgres import PostgresServer, postgres_bin
    if postgres_bin() is None:
        pytest.skip("PostgreSQL not installed (scripts/test.sh installs it)")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def db_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``sqlite`` or ``postgresql``; for the latter a fresh database, which the embedded
    defaults (and every command the test runs) then use through $PEC_INTAKE_DATABASE_URL."""
    backend = getattr(request, "param", "sqlite")
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    if backend == "postgresql":
        server = request.getfixturevalue("postgres_server")
        name = f"t_{uuid.uuid4().hex[:12]}"
        monkeypatch.setenv(DATABASE_ENV, server.create_database(name))
        request.addfinalizer(lambda: server.drop_database(name))
    return backend


@pytest.fixture
def database_url(db_backend: str, tmp_path: Path) -> str:
    """A fresh, empty database of the test's backend."""
    return os.environ.get(DATABASE_ENV) or f"sqlite:///{tmp_path}/test.sqlite3"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self):  # noqa: ANN201
        return json.loads(self.out)

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_backend: str) -> Path:
    """An empty folder as the current directory: the embedded defaults live in it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PEC_INTAKE_CONFIG", raising=False)
    return tmp_path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    """Runs the CLI in-process (fast) and returns exit code, stdout and stderr."""
    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)
    return run


def run_subprocess(*args: str, cwd: Path, env: dict[str, str] | None = None,
                   timeout: float = 120) -> CliResult:
    """Runs ``python run.py ...`` for real: the entry point, exit status and streams."""
    full_env = {k: v for k, v in os.environ.items() if k != "PEC_INTAKE_CONFIG"}
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
