"""Reading a whole message: every document, the body, and what cannot be read."""
from __future__ import annotations

import io
from decimal import Decimal

from config.settings import LimitSettings
from intake.message import parse_incoming
from intake.reading import read_message
from intake.sources.base import IncomingMessage
from tests.factories.receipts import (
    MailSpec,
    ReceiptSpec,
    body_only_email,
    build_email,
    receipt_email,
    receipt_lines,
    receipt_pdf,
)


def read(raw: bytes, name: str = "m.eml", limits: LimitSettings | None = None):  # noqa: ANN201
    incoming = IncomingMessage("t", name, raw, name, is_mail=name.endswith(".eml"))
    return read_message(parse_incoming(incoming), limits or LimitSettings(), ocr=None)


def encrypted_pdf() -> bytes:
    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt="segreto")
    pdf.drawString(60, 700, "Importo 10,89 RLM95055 bonifico riservato")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_attachment_is_the_evidence_and_the_body_fills_gaps() -> None:
    reading = read(receipt_email(ReceiptSpec(codes=("RLM1234",))))
    assert reading.fields.codes == ["RLM1234"]
    assert reading.fields.amount == Decimal("10.89")
    assert reading.text_source == "text_layer"
    assert [d.document.origin for d in reading.documents] == ["attachment", "body"]


def test_html_only_body_is_reduced_to_text() -> None:
    raw = build_email(MailSpec(body="Importo: 10,89\nCausale: RLM95055\nTRN 0306912345678901",
                               html=True))
    reading = read(raw)
    assert (reading.fields.codes, reading.fields.amount, reading.text_source) == (
        ["RLM95055"], Decimal("10.89"), "email_body")


def test_body_only_email() -> None:
    reading = read(body_only_email(ReceiptSpec()))
    assert reading.fields.transfer_ref == "0306912345678901"
    assert reading.fields.payer == "Mario Rossi"


def test_an_encrypted_pdf_is_refused_with_a_reason_and_the_body_still_read() -> None:
    raw = build_email(MailSpec(body="in allegato, ordine RLM95055",
                               attachments=[("r.pdf", "application/pdf", encrypted_pdf())]))
    reading = read(raw)
    assert "encrypted PDF" in reading.problems[0]
    assert reading.fields.codes == ["RLM95055"]


def test_a_document_over_the_size_limit_is_refused() -> None:
    reading = read(receipt_pdf(ReceiptSpec()), name="r.pdf",
                   limits=LimitSettings(max_attachment_bytes=1000))
    assert not reading.readable
    assert "over the limit of 1000 bytes" in reading.problems[0]


def test_a_dropped_pdf_is_one_document() -> None:
    reading = read(receipt_pdf(ReceiptSpec()), name="r.pdf")
    assert len(reading.documents) == 1 and reading.documents[0].document.origin == "file"
    assert reading.fields.iban == "IT62C0326803203052886541770"


def test_a_code_only_in_the_subject_counts() -> None:
    spec = ReceiptSpec(codes=("RLM95055",))
    lines = [line for line in receipt_lines(spec) if "RLM" not in line]
    raw = build_email(MailSpec(subject="Pagamento ordine RLM 95055", body="in allegato",
                               attachments=[("r.pdf", "application/pdf",
                                             receipt_pdf(spec, lines))]))
    reading = read(raw)
    assert reading.fields.codes == ["RLM95055"]
    assert reading.fields.amount == Decimal("10.89")
