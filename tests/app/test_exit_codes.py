"""Exit codes that mean one thing: 2 only for configuration and usage; a database that
cannot be opened, a corrupt one or a full disk is exit 1 with one line; two first runs on a
new database both succeed (migrations under a lock)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, run_subprocess
from tests.factories.receipts import ReceiptSpec, receipt_pdf


def _config(folder: Path, db: str = "sqlite:///intake.sqlite3") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "pec-intake.toml"
    config.write_text(f'[database]\nurl = "{db}"\n[outbox]\ndir = "outbox"\n[storage]\n'
                      'originals_dir = "originals"\n[[sources]]\nname = "inbox"\n'
                      'kind = "folder"\npath = "inbox"\n')
    return config


def _drop(folder: Path, count: int) -> None:
    (folder / "inbox").mkdir(parents=True, exist_ok=True)
    for index in range(count):
        path = folder / "inbox" / f"r{index}.pdf"
        path.write_bytes(receipt_pdf(ReceiptSpec(codes=(f"RLM9900{index}",),
                                                 reference=f"03069900000000{index:02d}")))
        os.utime(path, (time.time() - 60, time.time() - 60))


def test_two_first_runs_on_a_new_database_both_succeed(tmp_path):
    config = _config(tmp_path)
    _drop(tmp_path, 4)
    env = {k: v for k, v in os.environ.items() if k != "PEC_INTAKE_CONFIG"}
    procs = [subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--config", str(config),
                               "poll", "--once"], cwd=tmp_path, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    results = [(p.wait(120), *p.communicate()) for p in procs]
    for code, _out, err in results:
        assert code == 0, err
    with sqlite3.connect(tmp_path / "intake.sqlite3") as conn:
        rows = conn.execute("SELECT source_key, status FROM messages").fetchall()
    assert len(rows) == 4 and all(status == "unmatched" for _key, status in rows)


def _one_line_exit_1(result) -> None:  # noqa: ANN001
    assert result.code == 1, (result.code, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("pec-intake: "), result.err
    assert "Traceback" not in result.err


def test_a_corrupt_database_is_exit_1_with_one_line(tmp_path):
    config = _config(tmp_path)
    (tmp_path / "intake.sqlite3").write_bytes(b"this is not a database at all\n" * 200)
    result = run_subprocess("--config", str(config), "orders", "list", cwd=tmp_path)
    _one_line_exit_1(result)
    assert "not a database" in result.err


def test_a_database_that_cannot_be_opened_is_exit_1_with_one_line(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    result = run_subprocess("--config", str(_config(
        tmp_path / "b", f"sqlite:///{tmp_path}/blocker/db/intake.sqlite3")), "init",
        cwd=tmp_path)
    _one_line_exit_1(result)


def test_a_full_database_is_exit_1_with_one_line_and_the_message_stays(tmp_path,
                                                                        monkeypatch, cli):
    """GIVEN a database that cannot grow (SQLite's max_page_count: SQLITE_FULL, what a
    full disk gives) WHEN a message arrives THEN exit 1 with one line, and the file is
    still in the drop folder for the next poll."""
    config = _config(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli("--config", str(config), "init").code == 0
    with sqlite3.connect(tmp_path / "intake.sqlite3") as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    import store.db
    original = store.db._sqlite_pragmas

    def full(dbapi_connection, record):  # noqa: ANN001, ANN202
        original(dbapi_connection, record)
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")
    monkeypatch.setattr(store.db, "_sqlite_pragmas", full)
    _drop(tmp_path, 1)
    (tmp_path / "inbox" / "big.eml").write_bytes(
        b"From: a@example.com\r\nSubject: x\r\n\r\n" + b"x" * 200_000)
    os.utime(tmp_path / "inbox" / "big.eml", (time.time() - 60, time.time() - 60))
    result = cli("--config", str(config), "poll", "--once")
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        "pec-intake: database error: OperationalError: database or disk is full"]
    assert (tmp_path / "inbox" / "big.eml").exists()


def test_usage_and_configuration_errors_are_exit_2(tmp_path):
    assert run_subprocess("receipts", "retry", cwd=tmp_path).code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\nmessage_seconds = nan\n")
    result = run_subprocess("--config", str(bad), "poll", "--once", cwd=tmp_path)
    assert result.code == 2 and "limits.message_seconds" in result.err
