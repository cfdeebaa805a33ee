"""PEC: envelopes unwrapped to the customer's original, receipts recognised and never paid,
from the real corpus and from realistic generated ones, alone and through Dovecot."""
from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from app.pipeline import Pipeline
from config.settings import load_settings
from intake.message import parse_mail
from intake.pec import parse_daticert
from store.db import Database
from tests.conftest import CORPUS
from tests.factories.mailboxes import (
    RECEIPT_SUBJECTS,
    imap_source_toml,
    pec_envelope,
    pec_receipt,
    write_config,
)
from tests.factories.receipts import (
    MailSpec,
    OrderSpec,
    ReceiptSpec,
    build_email,
    orders_csv,
    receipt_email,
)
from tests.servers.dovecot import Dovecot

PEC_CORPUS = CORPUS / "pec-go-pec"
JAVA_CORPUS = CORPUS / "pec-java-pec-parser"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not there")


@needs_corpus
def test_real_envelope_is_unwrapped_to_postacert(tmp_path):
    parsed = parse_mail((PEC_CORPUS / "email_3.eml").read_bytes())
    assert parsed.kind == "payment"
    assert parsed.pec_envelope
    assert parsed.certified_sender == "no-reply@example.com"
    assert parsed.pec["pec_type"] == "posta-certificata"
    assert parsed.pec["pec_date"] == "14/05/2021 12:02:08 +0200"
    # the provider's notice ("Questo è un Messaggio di Posta Certificata") is not evidence
    assert "Messaggio di Posta Certificata" not in parsed.body_text
    assert not any(d.filename in ("daticert.xml", "smime.p7s") for d in parsed.documents)


@needs_corpus
@pytest.mark.parametrize(("path", "kind"), [
    (JAVA_CORPUS / "accettazione.eml", "accettazione"),
    (JAVA_CORPUS / "consegna.eml", "errore-consegna"),
    (PEC_CORPUS / "email_2.eml", "avvenuta-consegna"),
])
def test_real_receipts_are_receipts(path: Path, kind: str):
    parsed = parse_mail(path.read_bytes())
    assert parsed.kind == "pec_receipt"
    assert parsed.headers["X-Ricevuta"] == kind
    assert parsed.automatic
    assert parsed.documents == []  # a delivery receipt's PDFs are not a new payment


def test_generated_envelope_carries_the_customers_message():
    original = receipt_email(ReceiptSpec(codes=("RLM95055",)), sender="studio@example.com")
    parsed = parse_mail(pec_envelope(original, "avv.rossi@pec.avvocati.example.it"))
    assert parsed.pec_envelope and parsed.kind == "payment"
    assert parsed.certified_sender == "avv.rossi@pec.avvocati.example.it"
    assert parsed.sender == "studio@example.com"
    assert parsed.subject == "Ricevuta pagamento ordine RLM95055"
    assert [(d.filename, d.kind) for d in parsed.documents] == \
        [("ricevuta_bonifico.pdf", "pdf"), (None, "text")]


def test_envelope_forwarded_inside_an_envelope_is_unwrapped_twice():
    original = receipt_email(ReceiptSpec())
    twice = pec_envelope(pec_envelope(original, "avv.rossi@pec.example.it"),
                         "segreteria@pec.example.it")
    parsed = parse_mail(twice)
    assert parsed.certified_sender == "segreteria@pec.example.it"
    assert [d.filename for d in parsed.documents][:1] == ["ricevuta_bonifico.pdf"]


@pytest.mark.parametrize("kind", sorted(RECEIPT_SUBJECTS))
@pytest.mark.parametrize("x_ricevuta", [True, False], ids=["header", "subject-only"])
def test_generated_receipts_are_receipts(kind: str, x_ricevuta: bool):
    raw = pec_receipt(kind, original=receipt_email(ReceiptSpec()), x_ricevuta=x_ricevuta)
    parsed = parse_mail(raw)
    assert parsed.kind == "pec_receipt"
    assert parsed.headers["X-Ricevuta"]


def test_a_payment_notice_called_avviso_is_not_a_receipt():
    raw = build_email(MailSpec(subject="AVVISO DI PAGAMENTO pagoPA ordine RLM95055"))
    assert parse_mail(raw).kind == "payment"


def test_daticert_refuses_entities_and_non_daticert_xml():
    assert parse_daticert(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                          b"<postacert>&a;</postacert>") is None
    assert parse_daticert(b"<fattura/>") is None
    assert parse_daticert(b"not xml") is None


USER, PASSWORD = "amministrazione", "segreta"


def test_envelopes_and_receipts_through_the_imap_pipeline(tmp_path, cli):
    """GIVEN a lawyer's PEC envelope with a receipt PDF and three PEC system receipts in the
    mailbox WHEN polled THEN the envelope pays its order with the certified sender recorded,
    the receipts are filed as pec_receipt, no receipt is answered, and the mailbox is empty."""
    expiry = date.today() + timedelta(days=30)
    order = OrderSpec("RLM95055", Decimal("10.89"), "Mario Rossi", "studio@example.com",
                      expiry_date=expiry)
    original = receipt_email(ReceiptSpec(codes=("RLM95055",), payer="Mario Rossi"),
                             sender="studio@example.com")
    with Dovecot({USER: PASSWORD}) as server:
        server.append(USER, [pec_envelope(original, "avv.rossi@pec.avvocati.example.it"),
                             pec_receipt("accettazione"),
                             pec_receipt("avvenuta-consegna", original=original),
                             pec_receipt("errore-consegna", x_ricevuta=False)])
        config = write_config(tmp_path, [imap_source_toml(USER, server.port, USER, PASSWORD)])
        (tmp_path / "orders.csv").write_text(orders_csv([order]))
        assert cli("--config", str(config), "orders", "import",
                   str(tmp_path / "orders.csv")).code == 0
        settings = load_settings(config)
        db = Database(settings.database_url)
        try:
            summary = Pipeline(settings, db).poll_once()
        finally:
            db.dispose()
        assert server.count(USER) == 0
        assert server.count(USER, "Processed") == 4
    assert summary.outcomes["pec_receipt"] == 3
    receipts = cli("--config", str(config), "receipts", "list", "--json").json()
    envelope = next(r for r in receipts if r["status"] != "pec_receipt")
    assert envelope["status"] == "matched", envelope
    assert envelope["certified_sender"] == "avv.rossi@pec.avvocati.example.it"
    assert envelope["order_codes"] == ["RLM95055"]
    assert all(r["reason"] for r in receipts if r["status"] == "pec_receipt")
    orders = json.loads(cli("--config", str(config), "orders", "list", "--json").out)
    assert [o["status"] for o in orders] == ["paid"]
    outbox = sorted(p.name for p in (tmp_path / "outbox").glob("*.eml"))
    assert len(outbox) == 1 and "RLM95055" in outbox[0]  # only the payment is answered
