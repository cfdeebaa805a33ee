"""The issue's done-means, end to end through ``python run.py``, against a real SMTP server:
every paid order renewed and told exactly twice, nothing lost while SMTP is down, and a
daemon killed between the SMTP server's acceptance and the database record sends that one
mail again (the documented window), and nothing else."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.pipeline import Pipeline
from app.scheduler import start_job_scheduler
from notifier import compose, outbox
from store.db import Database
from store.models import OutgoingMailRow
from tests.conftest import ROOT, run_subprocess
from tests.factories.mailboxes import imap_source_toml
from tests.factories.mailboxes import write_config as write_mailbox_config
from tests.factories.payments import FakeClock, paid_orders, settings_for, write_world
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SmtpServer, smtp_server

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

ORDERS = 4
EXPIRY = date(2026, 12, 1)


def write_config(folder: Path, smtp_port: int) -> Path:
    config = folder / "pec-intake.toml"
    config.write_text(f"""\
[database]
url = "sqlite:///var/intake.sqlite3"

[[sources]]
name = "inbox"
kind = "folder"
path = "var/inbox"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
sender = "amministrazione@example.it"
retry_seconds = 0
timeout_seconds = 5

[renewal]
delay_hours = 0
""", encoding="utf-8")
    return config


def run(config: Path, *args: str):  # noqa: ANN201
    result = run_subprocess("--config", str(config), *args, cwd=config.parent)
    assert result.code == 0, result.err
    return result


@pytest.fixture
def world(tmp_path: Path):  # noqa: ANN201
    """GIVEN 4 pending orders imported and their 4 payment emails in the drop folder."""
    orders = paid_orders(ORDERS, EXPIRY)
    csv_path = write_world(tmp_path, tmp_path / "var" / "inbox", orders)
    return tmp_path, csv_path, orders


def check_renewed_and_told(config: Path, server: SmtpServer, orders) -> None:  # noqa: ANN001
    listed = {o["code"]: o for o in run(config, "orders", "list", "--json").json()}
    by_customer: dict[str, list] = {}
    for msg in server.messages():
        by_customer.setdefault(msg["To"], []).append(msg)
    assert sorted(by_customer) == sorted(p.order.customer_email for p in orders)
    for i, paid in enumerate(orders):
        expiry = EXPIRY + timedelta(days=i)
        renewed = expiry.replace(year=expiry.year + 1)
        assert listed[paid.code]["status"] == "renewed"
        assert listed[paid.code]["new_expiry_date"] == renewed.isoformat()
        first, second = by_customer[paid.order.customer_email]  # exactly two
        assert first["Subject"] == f"Pagamento ricevuto - ordine {paid.code}"
        text = second.get_body(("plain",)).get_content()
        assert paid.pec_address in text and renewed.strftime("%d/%m/%Y") in text
    ids = [m["Message-ID"] for m in server.messages()]
    assert len(ids) == 2 * len(orders) == len(set(ids))


def test_one_poll_renews_every_order_and_sends_two_mails_each(world) -> None:  # noqa: ANN001
    folder, csv_path, orders = world
    with smtp_server() as server:
        config = write_config(folder, server.port)
        run(config, "orders", "import", str(csv_path))
        summary = run(config, "poll", "--once").out
        assert summary.startswith(f"poll: {ORDERS} new message(s) ({ORDERS} matched)")
        assert f"{2 * ORDERS} mail(s) sent" in summary and f"{ORDERS} renewal(s)" in summary
        check_renewed_and_told(config, server, orders)
        again = run(config, "poll", "--once").out
        assert "0 mail(s) sent" in again and len(server.received) == 2 * ORDERS


def test_smtp_down_loses_nothing_and_everything_goes_out_once_back(world) -> None:  # noqa: ANN001
    folder, csv_path, orders = world
    server = SmtpServer()  # not started: the SMTP server is down
    try:
        config = write_config(folder, server.port)
        run(config, "orders", "import", str(csv_path))
        down = run(config, "poll", "--once").out
        # each order's renewal-done mail waits behind its unsent payment-received mail
        assert "0 mail(s) sent" in down and f"{ORDERS} to retry" in down
        assert {o["status"] for o in run(config, "orders", "list", "--json").json()} == \
            {"renewed"}
        still_down = run(config, "poll", "--once").out
        assert f"{ORDERS} to retry" in still_down
        server.start()
        back = run(config, "poll", "--once").out
        assert f"{2 * ORDERS} mail(s) sent" in back
        check_renewed_and_told(config, server, orders)
        assert "0 mail(s) sent" in run(config, "poll", "--once").out
    finally:
        server.close()


def test_killed_between_send_and_record_repeats_only_that_mail(tmp_path: Path) -> None:
    """GIVEN 4 queued mails WHEN the daemon is killed (SIGKILL) while the SMTP server holds the
    2nd one, before its 250 reaches the daemon THEN on restart, once the 2nd mail's lease is
    over, mail 1 is not sent again, mail 2 is sent a second time with the same Message-ID
    (the window SMTP cannot close), and mails 3 and 4 are sent once."""
    with smtp_server() as server:
        config = write_config(tmp_path, server.port)
        settings = settings_for(tmp_path, smtp_port=server.port)
        db = Database(f"sqlite:///{tmp_path}/var/intake.sqlite3")
        with db.session() as session:
            for i in range(4):
                mail = compose.ComposedMail("renewal_done", f"cliente{i}@example.com",
                                            f"Rinnovo {i}", f"Testo {i}\n", None)
                outbox.queue(session, mail, f"event:{i}", None, "example.it")
        daemon = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), "--config", str(config), "poll", "--once"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if k != "PEC_INTAKE_CONFIG"})

        def kill_on_second(_item) -> None:  # noqa: ANN001
            if len(server.received) == 2:
                os.kill(daemon.pid, signal.SIGKILL)
                daemon.wait(10)  # dead before the server answers 250

        server.on_data = kill_on_second
        daemon.communicate(timeout=60)
        assert daemon.returncode == -signal.SIGKILL
        server.on_data = None
        assert [m["To"] for m in server.messages()] == ["cliente0@example.com",
                                                        "cliente1@example.com"]
        after_lease = datetime.now(UTC) + timedelta(seconds=outbox.DeliveryPolicy(
            "", "").lease_seconds + 1)
        restarted = Pipeline(settings, db, clock=FakeClock(after_lease))
        assert restarted.deliver_mail() == (3, 0)
        received = [m["To"] for m in server.messages()]
        ids = [m["Message-ID"] for m in server.messages()]
    assert received == ["cliente0@example.com", "cliente1@example.com", "cliente1@example.com",
                        "cliente2@example.com", "cliente3@example.com"]
    assert ids[1] == ids[2] and len(set(ids)) == 4
    db.dispose()


def test_the_daemon_scheduler_retries_until_smtp_is_back(tmp_path: Path) -> None:
    """GIVEN the daemon's job scheduler (ticking only every minute) and SMTP down WHEN the
    server comes back THEN the scheduler's wake-ups at each retry time deliver every mail,
    once, without waiting for the next tick."""
    server = SmtpServer()
    settings = settings_for(tmp_path, smtp_port=server.port, smtp={"retry_seconds": 0.5})
    db = Database(settings.database_url)
    with db.session() as session:
        for i in range(3):
            mail = compose.ComposedMail("renewal_done", f"cliente{i}@example.com",
                                        f"Rinnovo {i}", f"Testo {i}\n", None)
            outbox.queue(session, mail, f"event:{i}", None, "example.it")
    scheduler = start_job_scheduler(Pipeline(settings, db), interval_seconds=60)
    try:
        time.sleep(1.5)  # a first attempt or two fail: connection refused
        server.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(server.received) < 3:
            time.sleep(0.1)
    finally:
        scheduler.shutdown()
        server.close()
    assert sorted(server.recipients()) == [f"cliente{i}@example.com" for i in range(3)]
    with db.session() as session:
        attempts = session.scalars(select(OutgoingMailRow.attempts)).all()
    db.dispose()
    assert min(attempts) >= 2  # it did fail while the server was down


def test_one_poll_over_an_imap_mailbox_of_payments(tmp_path: Path) -> None:
    """The done-means as written: a real IMAP mailbox (Dovecot) full of payments, one
    ``poll --once`` with ``delay_hours = 0``: every order renewed, two mails each, and the
    mailbox emptied into Processed."""
    orders = paid_orders(ORDERS, EXPIRY)
    csv_path = write_world(tmp_path, tmp_path / "unused", orders)
    with Dovecot({"amministrazione": "segreta"}) as imap, smtp_server() as server:
        imap.append("amministrazione", [p.email for p in orders])
        config = write_mailbox_config(tmp_path, [
            imap_source_toml("amministrazione", imap.port, "amministrazione", "segreta")],
            extra=f"""
[smtp]
host = "127.0.0.1"
port = {server.port}
retry_seconds = 0
timeout_seconds = 5

[renewal]
delay_hours = 0
""")
        run(config, "orders", "import", str(csv_path))
        summary = run(config, "poll", "--once").out
        assert f"{2 * ORDERS} mail(s) sent" in summary, summary
        check_renewed_and_told(config, server, orders)
        assert imap.count("amministrazione") == 0
        assert imap.count("amministrazione", "Processed") == ORDERS
