"""The outbox against a real SMTP server (aiosmtpd): content, security modes, retries with
backoff, refusals, and never the same mail twice."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import SmtpSettings
from notifier import outbox
from notifier.compose import ComposedMail
from notifier.transport import FolderTransport, SmtpTransport
from store.db import Database
from store.models import AuditRow, OrderRow, OutgoingMailRow
from tests.servers.smtp import SmtpServer, smtp_server

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
POLICY = outbox.DeliveryPolicy(sender="amministrazione@example.it",
                               sender_name="Amministrazione PEC", retry_seconds=60,
                               max_attempts=4)


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    yield database
    database.dispose()


def mail(i: int) -> ComposedMail:
    return ComposedMail("renewal_done", f"cliente{i}@example.com", f"Rinnovo {i}",
                        f"Testo {i}: nuova scadenza 22/04/2027\n", f"<p>HTML {i}</p>\n")


def queue(db: Database, count: int) -> None:
    with db.session() as session:
        for i in range(count):
            assert outbox.queue(session, mail(i), f"event:{i}", None, "example.it") is not None


def transport(server: SmtpServer, **overrides: object) -> SmtpTransport:
    return SmtpTransport(SmtpSettings(host="127.0.0.1", port=server.port, timeout_seconds=5,
                                      **overrides))  # type: ignore[arg-type]


def rows(db: Database) -> list[OutgoingMailRow]:
    with db.session() as session:
        return list(session.scalars(select(OutgoingMailRow).order_by(OutgoingMailRow.id)))


def test_mail_arrives_with_its_content_and_headers(db: Database) -> None:
    queue(db, 1)
    with smtp_server() as server:
        assert outbox.deliver_due(db.session, transport(server), POLICY, NOW) == (1, 0)
        (received,) = server.received
    msg = received.message
    assert received.rcpt_tos == ("cliente0@example.com",)
    assert received.mail_from == "amministrazione@example.it"
    assert msg["To"] == "cliente0@example.com" and msg["Subject"] == "Rinnovo 0"
    assert msg["Auto-Submitted"] == "auto-generated"
    (row,) = rows(db)
    assert msg["Message-ID"] == row.message_id_header and row.message_id_header.endswith(
        "@example.it>")
    assert msg["Date"]
    assert "22/04/2027" in msg.get_body(("plain",)).get_content()
    assert "<p>HTML 0</p>" in msg.get_body(("html",)).get_content()
    assert row.status == "sent" and row.attempts == 1 and row.sent_at == NOW


def test_the_same_event_queues_one_mail(db: Database) -> None:
    with db.session() as session:
        assert outbox.queue(session, mail(0), "payment-received:RLM1:1", None, "x.it")
    with db.session() as session:
        assert outbox.queue(session, mail(0), "payment-received:RLM1:1", None, "x.it") is None
    assert len(rows(db)) == 1


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_login(db: Database, security: str) -> None:
    queue(db, 1)
    with smtp_server(security=security, login=("ammin", "s3greto")) as server:
        sent = outbox.deliver_due(db.session, transport(
            server, security=security, username="ammin", password="s3greto",
            ca_file=server.cert_file), POLICY, NOW)
        assert sent == (1, 0) and len(server.received) == 1


def test_a_wrong_password_is_retried_not_lost(db: Database) -> None:
    """A refused login is our configuration: retried with backoff until someone fixes it."""
    queue(db, 1)
    with smtp_server(security="starttls", login=("ammin", "s3greto")) as server:
        bad = SmtpTransport(SmtpSettings(
            host="127.0.0.1", port=server.port, security="starttls", username="ammin",
            password="wrong", ca_file=server.cert_file, timeout_seconds=1))
        assert outbox.deliver_due(db.session, bad, POLICY, NOW) == (0, 1)
        (row,) = rows(db)
        # (smtplib falls back from PLAIN to LOGIN, where aiosmtpd waits: either way, retried)
        assert row.status == "queued" and row.attempts == 1 and row.last_error
        good = transport(server, security="starttls", username="ammin", password="s3greto",
                         ca_file=server.cert_file)
        later = NOW + timedelta(seconds=60)
        assert outbox.deliver_due(db.session, good, POLICY, later) == (1, 0)
        assert len(server.received) == 1


def test_server_down_for_a_while_then_every_mail_once(db: Database) -> None:
    """GIVEN 5 queued mails and the SMTP server down WHEN delivery is tried at each due time
    THEN the waits grow 60, 120 s, and once the server is back every mail arrives exactly once."""
    queue(db, 5)
    server = SmtpServer()
    try:
        smtp = transport(server)  # server not started: connection refused
        assert outbox.deliver_due(db.session, smtp, POLICY, NOW) == (0, 5)
        assert {r.next_attempt_at for r in rows(db)} == {NOW + timedelta(seconds=60)}
        # not due yet: nothing is tried
        assert outbox.deliver_due(db.session, smtp, POLICY, NOW + timedelta(seconds=59)) == (0, 0)
        t2 = NOW + timedelta(seconds=60)
        assert outbox.deliver_due(db.session, smtp, POLICY, t2) == (0, 5)
        assert {r.next_attempt_at for r in rows(db)} == {t2 + timedelta(seconds=120)}
        assert all(r.attempts == 2 and "refused" in r.last_error.lower() for r in rows(db))
        server.start()
        t3 = t2 + timedelta(seconds=120)
        assert outbox.deliver_due(db.session, smtp, POLICY, t3) == (5, 0)
        assert outbox.deliver_due(db.session, smtp, POLICY, t3 + timedelta(days=1)) == (0, 0)
        ids = [m["Message-ID"] for m in server.messages()]
        assert len(ids) == 5 and len(set(ids)) == 5
        assert sorted(server.recipients()) == [f"cliente{i}@example.com" for i in range(5)]
    finally:
        server.close()


def test_a_4xx_refusal_is_retried_a_5xx_is_final(db: Database) -> None:
    queue(db, 2)
    with smtp_server() as server:
        server.refuse_next(1, "451 4.3.0 Greylisted, try later")
        server.refuse_next(1, "554 5.7.1 Message rejected as spam")
        assert outbox.deliver_due(db.session, transport(server), POLICY, NOW) == (0, 2)
        first, second = rows(db)
        assert first.status == "queued" and "451" in first.last_error
        assert second.status == "failed" and "554" in second.last_error
        assert outbox.deliver_due(db.session, transport(server), POLICY,
                                  NOW + timedelta(hours=1)) == (1, 0)
        assert [m["To"] for m in server.messages()] == ["cliente0@example.com"]
    with db.session() as session:
        reasons = session.scalars(select(AuditRow.reason).where(
            AuditRow.entity == "outgoing_mail", AuditRow.new_value == "failed")).all()
    assert len(reasons) == 1 and reasons[0].startswith("refused for good")


def test_gives_up_after_max_attempts(db: Database) -> None:
    queue(db, 1)
    server = SmtpServer()  # never started
    try:
        now = NOW
        for _ in range(POLICY.max_attempts):
            assert outbox.deliver_due(db.session, transport(server), POLICY, now) == (0, 1)
            now += timedelta(days=1)
        assert outbox.deliver_due(db.session, transport(server), POLICY, now) == (0, 0)
        (row,) = rows(db)
        assert row.status == "failed" and row.attempts == POLICY.max_attempts
    finally:
        server.close()


def test_two_deliverers_at_once_send_each_mail_once(db: Database) -> None:
    """The daemon's scheduler and a ``poll --once`` may deliver at the same moment."""
    queue(db, 12)
    with smtp_server() as server:
        smtp = transport(server)
        results: list[tuple[int, int]] = []
        threads = [threading.Thread(target=lambda: results.append(
            outbox.deliver_due(db.session, smtp, POLICY, NOW))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(sent for sent, _ in results) == 12
        assert len(server.received) == 12
        assert len({m["Message-ID"] for m in server.messages()}) == 12


def test_folder_transport_writes_one_file_per_event(tmp_path: Path, db: Database) -> None:
    queue(db, 2)
    folder = tmp_path / "outbox"
    assert outbox.deliver_due(db.session, FolderTransport(folder), POLICY, NOW) == (2, 0)
    assert sorted(p.name for p in folder.glob("*.eml")) == ["event_0.eml", "event_1.eml"]


def test_a_mail_that_cannot_be_written_fails_without_blocking_the_rest(db: Database) -> None:
    with db.session() as session:
        broken = ComposedMail("renewal_done", "cliente@example.com", "Rinnovo\r\nBcc: x@y.it",
                              "Testo\n", None)
        outbox.queue(session, broken, "event:broken", None, "example.it")
    queue(db, 1)
    with smtp_server() as server:
        assert outbox.deliver_due(db.session, transport(server), POLICY, NOW) == (1, 0)
        assert [m["To"] for m in server.messages()] == ["cliente0@example.com"]
    first, _second = rows(db)
    assert first.status == "failed" and "cannot build the message" in first.last_error


def test_a_held_back_mail_is_not_due_before_the_mail_ahead_of_it(tmp_path: Path) -> None:
    """GIVEN an order's first mail held by a lease for an hour and its second mail due now
    THEN the outbox's next due time is the first mail's, not now (the scheduler would spin)."""
    db = Database(f"sqlite:///{tmp_path}/o.sqlite3")
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    with db.session() as session:
        order = OrderRow(code="RLM1", userid="U1", pec_address="a@pec.it", customer_name="A",
                         customer_email="a@example.com", amount=Decimal("10.89"),
                         expiry_date=date(2026, 4, 22), years=1, status="paid")
        session.add(order)
        session.flush()
        for i in range(2):
            mail = ComposedMail("renewal_done", "a@example.com", f"S{i}", "T\n", None)
            outbox.queue(session, mail, f"e:{i}", order.id, "example.it")
        session.flush()
        first = session.scalars(select(OutgoingMailRow).order_by(OutgoingMailRow.id)).first()
        first.next_attempt_at = later
    with db.session() as session:
        due = outbox.next_due(session)
    assert due is not None and due.replace(tzinfo=UTC) == later
    db.dispose()
