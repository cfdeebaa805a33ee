"""Shared test helpers: a working folder per test and the CLI run in-process or for real."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


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
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
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
