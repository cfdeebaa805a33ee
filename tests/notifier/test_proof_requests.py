"""Requests for a readable proof or the missing order code (the review UI's buttons): queued
to the receipt's sender, never to automatic mail, once per receipt and kind."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.pipeline import Pipeline
from config.settings import parse_settings
from intake.sources.base import IncomingMessage
from notifier.replies import NotAnswerable, queue_proof_request
from notifier.transport import FolderTransport
from store.db import Database
from store.models import MessageRow, OutgoingMailRow
from tests.factories.payments import FakeClock
from tests.factories.receipts import MailSpec, build_email

NO_CODE = "Buongiorno,\nho pagato il rinnovo ieri con bonifico di euro 10,89.\nMario Rossi"


@pytest.fixture
def intake(tmp_path: Path, database_url: str):  # noqa: ANN201
    settings = parse_settings({
        "database": {"url": database_url},
        "sources": [{"name": "amministrazione", "kind": "folder", "path": "in"},
                    {"name": "fax", "kind": "folder", "path": "fax", "fax_gateway": True}],
    }, tmp_path, "test.toml")
    db = Database(settings.database_url)
    pipeline = Pipeline(settings, db, clock=FakeClock(datetime(2026, 3, 16, 9, tzinfo=UTC)),
                        transport=FolderTransport(tmp_path / "out"))

    def receive(source: str = "amministrazione", **mail: object) -> MessageRow:
        raw = build_email(MailSpec(subject="Rinnovo PEC", body=NO_CODE, **mail))  # type: ignore[arg-type]
        outcome = pipeline.take_in(IncomingMessage(source=source, key=f"{len(raw)}-{mail}",
                                                   raw=raw, filename=None, is_mail=True))
        with db.session() as session:
            return session.get(MessageRow, outcome.receipt_id)

    yield settings, db, receive
    db.dispose()


def test_a_customer_is_asked_for_the_missing_code_once(intake) -> None:  # noqa: ANN001
    settings, db, receive = intake
    receipt = receive(sender="mario.rossi@example.com")
    with db.session() as session:
        row = queue_proof_request(session, settings, receipt, "missing_code")
        assert row is not None
    with db.session() as session:
        assert queue_proof_request(session, settings, receipt, "missing_code") is None
        assert queue_proof_request(session, settings, receipt, "readable_proof") is not None
        # (the pipeline itself asked for the bank's document: the body is only a claim)
        mails = session.scalars(select(OutgoingMailRow).where(
            OutgoingMailRow.template == "proof_request",
            OutgoingMailRow.event_key.not_like("proof-request:bank_document:%"))
            .order_by(OutgoingMailRow.id)).all()
    assert [m.to_addr for m in mails] == ["mario.rossi@example.com"] * 2
    assert mails[0].subject == "Re: Rinnovo PEC - Codice ordine mancante"
    assert "RLM" in mails[0].body_text and mails[0].status == "queued"


@pytest.mark.parametrize(("source", "mail", "why"), [
    ("amministrazione", {"sender": "MAILER-DAEMON@mx.example.com"}, "automatic mailbox"),
    ("amministrazione", {"sender": "noreply@banca.example.it"}, "automatic mailbox"),
    ("amministrazione", {"sender": "mario.rossi@example.com",
                         "extra_headers": {"Auto-Submitted": "auto-replied"}},
     "sent automatically"),
    ("amministrazione", {"sender": "lista@example.com",
                         "extra_headers": {"Precedence": "bulk"}}, "sent automatically"),
    ("fax", {"sender": "fax@gateway.example.it"}, "fax gateway"),
])
def test_automatic_senders_are_never_answered(intake, source: str, mail: dict,  # noqa: ANN001
                                              why: str) -> None:
    settings, db, receive = intake
    receipt = receive(source, **mail)
    with db.session() as session, pytest.raises(NotAnswerable) as refused:
        queue_proof_request(session, settings, receipt, "readable_proof")
    assert why in refused.value.reason
    with db.session() as session:
        assert not session.scalars(select(OutgoingMailRow).where(
            OutgoingMailRow.template == "proof_request")).all()
