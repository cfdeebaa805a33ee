"""End to end over a folder: dropped files -> paid orders, queued mail, moved files."""
from __future__ import annotations

import email
import email.policy
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from app.pipeline import Pipeline
from config.settings import embedded_defaults
from intake.sources.base import IncomingMessage
from store.db import Database
from tests.conftest import DATABASE_ENV
from tests.factories.scenario import inbox_items, write_scenario

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


@pytest.fixture
def day(workdir: Path, cli):  # noqa: ANN001, ANN201
    """GIVEN the sample order book imported and the sample inbox dropped in var/inbox."""
    csv_path = write_scenario(workdir, workdir / "var" / "inbox")
    assert cli("orders", "import", str(csv_path)).code == 0
    return workdir


def snapshot(db_path: Path) -> dict[str, list]:
    """Every table's rows, on the test's database (SQLite file, or the PostgreSQL pass's)."""
    engine = create_engine(os.environ.get(DATABASE_ENV) or f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
            # source_polls records when each poll ran (for ``status``): not a business change
            return {t: conn.execute(text(f"select * from {t} order by 1")).fetchall()
                    for t in tables if t != "source_polls"}
    finally:
        engine.dispose()


def test_every_receipt_ends_where_a_person_would_put_it(day: Path, cli) -> None:  # noqa: ANN001
    result = cli("poll", "--once")
    assert result.code == 0 and result.out.startswith("poll: 11 new message(s)")
    by_status: dict[str, int] = {}
    for receipt in cli("receipts", "list", "--json").json():
        by_status[receipt["status"]] = by_status.get(receipt["status"], 0) + 1
        if receipt["status"] != "matched":
            assert receipt["reason"], receipt  # every non-match says why
    expected: dict[str, int] = {}
    for item in inbox_items():
        expected[item.expected_status] = expected.get(item.expected_status, 0) + 1
    assert by_status == expected

    orders = {o["code"]: o for o in cli("orders", "list", "--json").json()}
    paid = {code for code, o in orders.items() if o["status"] == "paid"}
    assert paid == {code for item in inbox_items() if item.expected_status == "matched"
                    for code in item.expected_orders}
    for code in paid:
        assert orders[code]["paid_amount"] == orders[code]["amount"]
        assert len(orders[code]["receipt_ids"]) == 1
    assert orders["RLM95059"]["status"] == "pending"  # paid 1,00 short
    assert orders["RLM95060"]["status"] == "pending"  # paid to someone else's IBAN

    processed = sorted(p.name for p in (day / "var/inbox/processed").iterdir())
    quarantined = sorted(p.name for p in (day / "var/inbox/quarantine").iterdir())
    assert quarantined == ["11-rotto.pdf"]
    assert len(processed) == 10
    assert not [p for p in (day / "var/inbox").iterdir() if p.is_file()]

    mails = sorted(p.name for p in (day / "var/outbox").glob("*.eml"))
    # one confirmation per payment, and one request for the bank's document to the customer
    # who only wrote the details in the body
    assert len(mails) == len(paid) + 1
    assert [m for m in mails if m.startswith("proof-request")] == [
        "proof-request_bank_document_paolo.greco_example.com_RLM95061.eml"]


def test_confirmation_mail_is_italian_and_complete(day: Path, cli) -> None:  # noqa: ANN001
    cli("poll", "--once")
    (path,) = (day / "var/outbox").glob("payment-received_RLM95055_*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "mario.rossi@example.com"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"] and msg["Date"]
    text = msg.get_body(("plain",)).get_content()
    assert "RLM95055" in text and "10,89" in text
    assert "mario.rossi@pec.avvocati.example.it" in text
    assert "Il rinnovo della casella sarà effettuato il" in text
    html = msg.get_body(("html",)).get_content()
    assert "RLM95055" in html


def test_second_poll_changes_nothing(day: Path, cli) -> None:  # noqa: ANN001
    cli("poll", "--once")
    before = snapshot(day / "var/intake.sqlite3")
    outbox_before = sorted(p.name for p in (day / "var/outbox").iterdir())
    result = cli("poll", "--once")
    assert result.out.startswith("poll: 0 new message(s)")
    assert snapshot(day / "var/intake.sqlite3") == before
    assert sorted(p.name for p in (day / "var/outbox").iterdir()) == outbox_before


def test_renewal_job_due_after_the_configured_delay(workdir: Path) -> None:
    write_scenario(workdir, workdir / "var/inbox")
    settings = embedded_defaults(workdir)
    db = Database(settings.database_url)
    from app.commands import orders_import
    orders_import(db, workdir / "orders.csv")
    Pipeline(settings, db, clock=lambda: NOW).poll_once()
    with db.session() as session:
        from sqlalchemy import select

        from store.models import AuditRow, OrderRow, RenewalJobRow
        jobs = session.scalars(select(RenewalJobRow)).all()
        assert jobs and all(j.due_at == NOW + timedelta(hours=24) for j in jobs)
        order = session.scalars(select(OrderRow).where(OrderRow.code == "RLM95055")).one()
        trail = session.scalars(select(AuditRow).where(
            AuditRow.entity == "orders", AuditRow.entity_id == order.id,
            AuditRow.field == "status").order_by(AuditRow.id)).all()
        assert [(a.old_value, a.new_value, a.actor) for a in trail] == [
            (None, "pending", "import:orders.csv"), ("pending", "paid", "daemon")]
        assert "receipt #" in trail[-1].reason


def test_crash_between_commit_and_move_does_not_repeat(workdir: Path) -> None:
    """GIVEN a message whose outcome was committed but whose file was never moved
    WHEN the next poll runs THEN it is only moved: no second payment, no second mail."""
    write_scenario(workdir, workdir / "var/inbox")
    settings = embedded_defaults(workdir)
    db = Database(settings.database_url)
    from app.commands import orders_import
    orders_import(db, workdir / "orders.csv")
    pipeline = Pipeline(settings, db, clock=lambda: NOW)
    path = workdir / "var/inbox/01-bonifico-rossi.pdf"
    incoming = IncomingMessage("inbox", path.name, path.read_bytes(), path.name, False,
                               identity=f"{path.name}|{path.stat().st_mtime_ns}|x")
    first = pipeline.take_in(incoming)
    again = pipeline.take_in(incoming)
    assert first.status == "matched" and again.already_known
    assert again.receipt_id == first.receipt_id


def test_original_bytes_are_kept_content_addressed(day: Path, cli) -> None:  # noqa: ANN001
    cli("poll", "--once")
    import hashlib
    for item in inbox_items():
        digest = hashlib.sha256(item.data).hexdigest()
        kept = day / "var/originals" / digest[:2] / digest[2:4] / digest
        assert kept.read_bytes() == item.data


def test_unreadable_attachment_with_an_empty_body_is_quarantined(workdir: Path, cli) -> None:  # noqa: ANN001
    """GIVEN an email saying only 'in allegato' with an encrypted PDF, and one with the code
    in the body and a corrupt PDF WHEN polled THEN the first is quarantined for the PDF, the
    second goes to review and its reason still names the corrupt PDF."""
    from tests.factories.receipts import MailSpec, build_email
    from tests.intake.test_reading import encrypted_pdf
    inbox = workdir / "var/inbox"
    inbox.mkdir(parents=True)
    (inbox / "a.eml").write_bytes(build_email(MailSpec(
        body="Buongiorno, in allegato la ricevuta.",
        attachments=[("ricevuta.pdf", "application/pdf", encrypted_pdf())])))
    (inbox / "b.eml").write_bytes(build_email(MailSpec(
        subject="ordine", body="Pagamento ordine RLM95055",
        attachments=[("ricevuta.pdf", "application/pdf", b"%PDF-1.4 broken")])))
    cli("poll", "--once")
    first, second = cli("receipts", "list", "--json").json()
    assert first["status"] == "quarantined" and "encrypted PDF" in first["reason"]
    assert second["status"] == "unmatched" and "corrupt PDF" in second["reason"]
    assert (workdir / "var/inbox/quarantine/a.eml").exists()
