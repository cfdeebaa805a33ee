"""``run`` as operators start it (``python run.py --config ... run``) against a real Dovecot:
IDLE wake-up, a source that is down, a server restart, SIGTERM."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from app.daemon import run
from app.pipeline import Pipeline
from config.settings import load_settings
from store.db import Database
from tests.conftest import ROOT
from tests.factories.mailboxes import fax_gateway_mail, imap_source_toml, write_config
from tests.factories.receipts import OrderSpec, ReceiptSpec, orders_csv, receipt_email, receipt_pdf
from tests.servers.dovecot import Dovecot, free_port

ADMIN, FAX = "amministrazione", "fax"


def spec(code: str) -> ReceiptSpec:
    """A receipt of its own: each with its own CRO, or they are duplicates of each other."""
    return ReceiptSpec(codes=(code,), reference=f"0306{code[3:]:0>12}")


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    """Seconds until ``condition`` held; fails the test after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


class Daemon:
    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        env = {k: v for k, v in os.environ.items() if k != "PEC_INTAKE_CONFIG"}
        env["OMP_THREAD_LIMIT"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), "--config", str(config), "run"],
            cwd=config.parent, env=env, stdout=subprocess.DEVNULL,
            stderr=log.open("wb"))
        wait_until(lambda: "daemon started" in self.text(), 30)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def server():
    with Dovecot({ADMIN: "segreta", FAX: "faxpw"}) as dovecot:
        yield dovecot


def _setup(tmp_path: Path, server: Dovecot, codes: list[str]) -> Path:
    down_port = free_port()  # nothing listens there: a source that is down
    config = write_config(tmp_path, [
        imap_source_toml(ADMIN, server.port, ADMIN, "segreta"),
        imap_source_toml(FAX, server.port, FAX, "faxpw", fax_gateway=True),
        imap_source_toml("spenta", down_port, ADMIN, "segreta"),
    ])
    expiry = date.today() + timedelta(days=30)
    orders = [OrderSpec(code, Decimal("10.89"), "Mario Rossi", f"c{code}@example.com",
                        expiry_date=expiry) for code in codes]
    (tmp_path / "orders.csv").write_text(orders_csv(orders))
    subprocess.run([sys.executable, str(ROOT / "run.py"), "--config", str(config), "orders",
                    "import", str(tmp_path / "orders.csv")], check=True, capture_output=True)
    return config


def _statuses(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "intake.sqlite3") as conn:
        return conn.execute("SELECT source_key, status FROM messages ORDER BY id").fetchall()


def test_daemon_idle_sources_down_restart_and_sigterm(tmp_path, server):
    """GIVEN the daemon on two live mailboxes and one whose server is down
    WHEN mail arrives, the server restarts, and SIGTERM comes
    THEN each message is processed within seconds (IDLE), the dead source does not stop the
    others, the daemon reconnects after the restart, and it exits 0 on SIGTERM."""
    codes = ["RLM61001", "RLM61002", "RLM61003"]
    config = _setup(tmp_path, server, codes)
    daemon = Daemon(config, tmp_path / "daemon.log")
    try:
        time.sleep(1.0)  # the watchers are in IDLE now
        server.append(ADMIN, receipt_email(spec(codes[0])))
        latency = wait_until(lambda: server.count(ADMIN, "Processed") == 1, 10)
        assert latency < 5, latency

        fax = fax_gateway_mail([("fax.pdf", "application/pdf",
                                 receipt_pdf(spec(codes[1])))])
        server.append(FAX, fax)
        wait_until(lambda: server.count(FAX, "Processed") == 1, 10)
        assert "source=spenta unreachable" in daemon.text()

        server.restart(down_seconds=1.0)
        server.append(ADMIN, receipt_email(spec(codes[2])))
        wait_until(lambda: server.count(ADMIN, "Processed") == 2, 30)

        assert daemon.terminate() == 0
    finally:
        daemon.kill()
    log = daemon.text()
    assert "daemon stopped" in log
    assert server.count(ADMIN) == 0 and server.count(FAX) == 0
    assert [status for _key, status in _statuses(tmp_path)] == ["matched"] * 3
    assert "message_id=<" in log  # one line per message names its Message-ID


def test_sigterm_finishes_the_message_in_hand(tmp_path, server):
    """GIVEN a backlog being worked WHEN SIGTERM arrives THEN the daemon exits 0 soon, and
    every message it recorded is finished and moved: none is left half done."""
    codes = [f"RLM6200{i}" for i in range(10)]
    config = _setup(tmp_path, server, codes)
    server.append(ADMIN, [receipt_email(spec(c)) for c in codes])
    daemon = Daemon(config, tmp_path / "daemon.log")
    try:
        wait_until(lambda: server.count(ADMIN, "Processed") >= 1, 20, step=0.02)
        assert daemon.terminate(timeout=20) == 0
    finally:
        daemon.kill()
    rows = _statuses(tmp_path)
    assert rows and all(status != "received" for _key, status in rows)
    assert server.count(ADMIN, "Processed") == len(rows)
    assert server.count(ADMIN) == len(codes) - len(rows)


def test_daemon_polls_and_copies_where_the_server_has_no_idle_nor_move(tmp_path):
    """GIVEN a server that offers neither IDLE nor MOVE WHEN mail arrives THEN the daemon
    finds it by polling at ``poll_seconds`` and settles it by COPY + EXPUNGE; setting the stop
    flag (what SIGTERM does) ends it."""
    with Dovecot({ADMIN: "segreta"}, capability="IMAP4rev1 UIDPLUS LITERAL+") as plain:
        config = write_config(tmp_path, [imap_source_toml(ADMIN, plain.port, ADMIN, "segreta",
                                                          poll_seconds=0.5)])
        settings = load_settings(config)
        db = Database(settings.database_url)
        stop = threading.Event()
        daemon = threading.Thread(target=run, args=(settings, db, Pipeline(settings, db)),
                                  kwargs={"stop": stop, "install_signals": False})
        daemon.start()
        try:
            plain.append(ADMIN, receipt_email(spec("RLM63001")))
            latency = wait_until(lambda: plain.count(ADMIN, "Processed") == 1, 10)
            assert latency < 3, latency
            assert plain.count(ADMIN) == 0
        finally:
            stop.set()
            daemon.join(15)
            db.dispose()
        assert not daemon.is_alive()
