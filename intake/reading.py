"""Reads every document of a message and combines their fields into one reading.

Documents (attachments, dropped files) are the evidence and come first; the body text fills
what they lack. A document that cannot be read does not stop the others.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from config.settings import LimitSettings
from core.errors import BadDocument, Deadline, NeedsOcr
from intake.body import body_fields
from intake.confidence import assign, combine_engines
from intake.fields import (
    AMOUNT_DISAGREES,
    NOT_EXECUTED,
    Doubt,
    PaymentFields,
    extract_fields,
)
from intake.message import Document, ParsedMessage
from intake.text import IMAGE_KINDS, DocumentText, OcrEngine, read_document

log = logging.getLogger(__name__)

# What a bank, the post office or a cheque produces: a PDF (home banking, a scan), a fax, a
# photo. Text (an email body, a .txt or .html file) is something anyone types: a claim.
DOCUMENT_KINDS = frozenset({"pdf"} | IMAGE_KINDS)
BANK_DOCUMENT, CLAIM = "bank_document", "claim"


@dataclass
class DocumentReading:
    document: Document
    text: DocumentText | None = None
    fields: PaymentFields | None = None
    error: str | None = None
    needs_ocr: bool = False


@dataclass
class Reading:
    documents: list[DocumentReading]
    fields: PaymentFields
    text_source: str | None
    problems: list[str] = field(default_factory=list)
    subject: str | None = None

    @property
    def needs_ocr(self) -> bool:
        return any(d.needs_ocr for d in self.documents)

    @property
    def readable(self) -> bool:
        return any(d.fields is not None for d in self.documents)

    @property
    def payment_documents(self) -> list[DocumentReading]:
        """The documents the payment was read from: those that gave the message its code,
        amount or CRO/TRN. A logo, a signature image or a banner that carried none of these
        is never one, so it never makes two receipts 'the same document'."""
        return [d for d in self.documents if d.document.origin != "body" and d.fields
                and _carries_payment(d.fields, self.fields)]

    @property
    def evidence(self) -> str:
        """``bank_document`` when a document (PDF, scan, fax, photo) carried the message's
        code, amount or CRO/TRN; ``claim`` when only text the customer typed (the body, a
        text file) does (DOMAIN.md: only the bank's own document is proof). A logo or a
        signature image carries none of them, so it makes no claim a document."""
        if any(d.document.kind in DOCUMENT_KINDS and d.fields is not None
               and d.fields.instructions is None for d in self.payment_documents):
            return BANK_DOCUMENT
        return CLAIM


def read_message(parsed: ParsedMessage, limits: LimitSettings,
                 ocr: OcrEngine | None = None, *, deadline: Deadline | None = None,
                 on_stage: Callable[[str], None] | None = None) -> Reading:
    """Reads every document of the message. ``deadline`` is checked between documents
    (``OverBudget`` past it); ``on_stage("read" | "extract")`` is told which step runs, so
    the caller can name the stage of an unexpected error."""
    stage = on_stage or (lambda _name: None)
    readings = []
    for doc in _evidence_order(parsed.documents):
        if deadline is not None:
            deadline.check(f"reading {doc.filename or doc.origin}")
        readings.append(read_one(doc, limits, ocr, stage, limits.max_text_chars))
    stage("extract")
    fields, source = combine(readings)
    _add_subject_codes(fields, parsed.subject)
    problems = [r.error for r in readings if r.error] + list(parsed.notes)
    problems += [note for r in readings if r.text is not None for note in r.text.notes
                 if "limits.max_text_chars" in note]
    problems += [f"{r.document.filename or 'document'}: payment instructions, not a bank "
                 f"receipt: it says {r.fields.instructions}" for r in readings
                 if r.fields is not None and r.fields.instructions is not None
                 and r.document.origin != "body"]
    problems += [f"{r.document.filename or 'document'}: no readable text"
                 + (" (OCR found no words)" if r.text.source == "ocr" else "")
                 for r in readings if r.text is not None and not r.text.text.strip()
                 and r.document.origin != "body"]
    return Reading(readings, fields, source, problems, parsed.subject)


def read_one(doc: Document, limits: LimitSettings, ocr: OcrEngine | None,
             stage: Callable[[str], None] = lambda _name: None,
             max_chars: int | None = None) -> DocumentReading:
    stage("read")
    try:
        text = read_document(doc, limits, ocr)
    except NeedsOcr as exc:
        return DocumentReading(doc, error=exc.reason, needs_ocr=True)
    except BadDocument as exc:
        return DocumentReading(doc, error=exc.reason)
    stage("extract")
    content = text.text
    if max_chars is not None and len(content) > max_chars:
        text.notes.append(f"{doc.filename or doc.origin}: only the first {max_chars} of "
                          f"{len(content)} characters were read (limits.max_text_chars)")
        content = content[:max_chars]
    if doc.origin == "body":
        # the customer's own words: not what they quoted, not their signature
        fields = body_fields(content)
        return DocumentReading(doc, text, assign(fields, content, text.source))
    return DocumentReading(doc, text, fields_of(text, max_chars))


def fields_of(text: DocumentText, max_chars: int | None = None) -> PaymentFields:
    """The fields of one document with their confidence: two OCR engines' readings combined
    where the second engine read the pages too (each text cut at ``max_chars``)."""
    content, alternate = text.text, text.alternate_text
    if max_chars is not None:
        content = content[:max_chars]
        alternate = alternate[:max_chars] if alternate is not None else None
    if alternate is not None:
        return combine_engines(content, alternate)
    return assign(extract_fields(content), content, text.source)


def second_opinion(reading: Reading, limits: LimitSettings, ocr: OcrEngine | None) -> bool:
    """The pipeline's hook for a doubt found later (a code that names no pending order):
    every OCR document that only Tesseract read is read again by the second engine and its
    fields combined anew. True when anything was read again."""
    reread = getattr(ocr, "second_opinion", None)
    if reread is None:
        return False
    changed = False
    for doc_reading in reading.documents:
        text = doc_reading.text
        if text is None or text.source != "ocr" or text.alternate_text is not None:
            continue
        ocr_pages = [p.number for p in text.pages if p.source == "ocr"]
        kind = "pdf" if doc_reading.document.kind == "pdf" else "image"
        try:
            second = reread(doc_reading.document.data, kind,
                            ocr_pages if kind == "pdf" else None, limits)
        except BadDocument as exc:
            log.warning("second OCR engine failed on %s: %s",
                        doc_reading.document.filename, exc.reason)
            continue
        by_number = {p.number: p for p in second}
        for page in text.pages:
            if page.number in by_number and page.source == "ocr":
                page.alternate = by_number[page.number]
        doc_reading.fields = fields_of(text)
        changed = True
    if changed:
        reading.fields, reading.text_source = combine(reading.documents)
        _add_subject_codes(reading.fields, reading.subject)
    return changed


def _evidence_order(documents: list[Document]) -> list[Document]:
    return sorted(documents, key=lambda d: d.origin == "body")


def combine(readings: list[DocumentReading]) -> tuple[PaymentFields, str | None]:
    """One set of fields for the message: each field from the first document that has it."""
    combined = PaymentFields()
    source: str | None = None
    read = [r for r in readings if r.fields is not None and r.text is not None]
    for reading in read:
        fields = reading.fields
        assert fields is not None and reading.text is not None
        if not combined.codes and fields.codes:
            combined.confidence["codes"] = fields.confidence.get("codes")
        for candidate in fields.code_candidates:
            if candidate.code not in combined.codes:
                combined.codes.append(candidate.code)
                combined.code_candidates.append(candidate)
        for name in ("amount", "currency", "iban", "transfer_ref", "payment_date", "payer"):
            if getattr(combined, name) is None and getattr(fields, name) is not None:
                setattr(combined, name, getattr(fields, name))
                if name in fields.evidence:
                    combined.evidence[name] = fields.evidence[name]
                if name in fields.confidence:
                    combined.confidence[name] = fields.confidence[name]
                if name in fields.disputed:
                    combined.disputed[name] = fields.disputed[name]
        if "codes" in fields.disputed and "codes" not in combined.disputed:
            combined.disputed["codes"] = fields.disputed["codes"]
        combined.mailboxes += [m for m in fields.mailboxes if m not in combined.mailboxes]
        if combined.method == "unknown":
            combined.method = fields.method
        if source is None and (fields.codes or fields.amount is not None):
            source = reading.text.source
    if source is None and read:
        source = read[0].text.source  # type: ignore[union-attr]
    combined.doubts = _doubts(read, combined)
    for name in ("codes", "amount", "iban", "transfer_ref", "payment_date", "payer"):
        value = combined.codes if name == "codes" else getattr(combined, name)
        if not value:
            combined.confidence[name] = None
        else:
            combined.confidence.setdefault(name, 0.5)
    return combined, source


def _carries_payment(fields: PaymentFields, combined: PaymentFields) -> bool:
    return bool(set(fields.codes) & set(combined.codes)) \
        or (fields.amount is not None and fields.amount == combined.amount) \
        or (fields.transfer_ref is not None and fields.transfer_ref == combined.transfer_ref)


def _doubts(read: list[DocumentReading], combined: PaymentFields) -> list[Doubt]:
    """A message's doubts: any document saying the payment was not executed; the amount's
    own doubts from the document it was read from; documents showing different amounts."""
    doubts: list[Doubt] = []
    amount_from = next((r for r in read if r.fields is not None
                        and r.fields.amount is not None), None)
    for reading in read:
        assert reading.fields is not None
        for doubt in reading.fields.doubts:
            if (doubt.kind == NOT_EXECUTED or reading is amount_from) and doubt not in doubts:
                doubts.append(doubt)
    shown = {}
    for reading in read:
        fields = reading.fields
        if fields is not None and fields.amount is not None and reading.document.origin != \
                "body" and reading.document.kind in DOCUMENT_KINDS:
            shown.setdefault(fields.amount, reading.document.filename or "document")
    if len(shown) > 1:
        doubts.append(Doubt(AMOUNT_DISAGREES, "the documents show different amounts: " + ", ".join(
            f"{_euro(value)} ({name})" for value, name in shown.items())))
    return doubts


def _euro(value) -> str:  # noqa: ANN001 - a Decimal
    text = f"{value:,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _add_subject_codes(fields: PaymentFields, subject: str | None) -> None:
    """Customers often put the order code only in the subject ('Pagamento RLM95055'):
    it counts, after the codes the documents themselves carry."""
    if not subject:
        return
    subject_fields = extract_fields(subject)
    for candidate in subject_fields.code_candidates:
        if candidate.code not in fields.codes:
            if not fields.codes:
                fields.confidence["codes"] = candidate.confidence
            fields.codes.append(candidate.code)
            fields.code_candidates.append(candidate)
    fields.mailboxes += [m for m in subject_fields.mailboxes if m not in fields.mailboxes]
