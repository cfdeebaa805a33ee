"""A transport that fails (an outbox folder that cannot be written, an SMTP server that
refuses connections) is a retry with backoff: ``poll --once`` exits 0, the payment stays
recorded, the mail stays queued with the reason."""
from __future__ import annotations

import os
import sqlite3
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import run_subprocess
from tests.factories.receipts import OrderSpec, ReceiptSpec, orders_csv, receipt_pdf
from tests.servers.dovecot import free_port


def _world(tmp_path: Path, transport: str) -> Path:
    (tmp_path / "orders.csv").write_text(orders_csv([OrderSpec(
        "RLM99001", Decimal("10.89"), "Mario Rossi", "mario@example.com",
        expiry_date=date.today() + timedelta(days=30))]))
    (tmp_path / "inbox").mkdir()
    pdf = tmp_path / "inbox" / "ricevuta.pdf"
    pdf.write_bytes(receipt_pdf(ReceiptSpec(codes=("RLM99001",))))
    os.utime(pdf, (time.time() - 60, time.time() - 60))
    config = tmp_path / "pec-intake.toml"
    config.write_text('[database]\nurl = "sqlite:///intake.sqlite3"\n[storage]\n'
                      'originals_dir = "originals"\n' + transport +
                      '[[sources]]\nname = "inbox"\nkind = "folder"\npath = "inbox"\n')
    assert run_subprocess("--config", str(config), "orders", "import",
                          str(tmp_path / "orders.csv"), cwd=tmp_path).code == 0
    return config


def _mail(config: Path) -> tuple[str, int, str]:
    with sqlite3.connect(config.parent / "intake.sqlite3") as conn:
        return conn.execute("SELECT status, attempts, last_error FROM outgoing_mail").fetchone()


@pytest.mark.parametrize("kind", ["unwritable outbox folder", "refused SMTP"])
def test_a_failing_transport_is_retried_not_an_exit_1(tmp_path, kind):
    if kind == "refused SMTP":
        transport = f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\ntimeout_seconds = 5\n'
        expected = "ConnectionRefusedError"
    else:
        (tmp_path / "not-a-folder").write_text("a file where the outbox folder should be")
        transport = '[outbox]\ndir = "not-a-folder/outbox"\n'
        expected = "cannot be written"
    config = _world(tmp_path, transport)
    for attempt in (1, 2):
        result = run_subprocess("--config", str(config), "poll", "--once", cwd=tmp_path)
        assert result.code == 0, result.err
        assert "Traceback" not in result.err
        status, attempts, error = _mail(config)
        # queued for a retry with backoff: the second poll, a moment later, does not retry
        assert (status, attempts) == ("queued", 1) and expected in error, (attempt, error)
    assert "1 mail(s) sent" not in result.out
    with sqlite3.connect(config.parent / "intake.sqlite3") as conn:
        assert conn.execute("SELECT status FROM orders").fetchone() == ("paid",)
