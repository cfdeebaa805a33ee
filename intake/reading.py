"""Reads every document of a message and combines their fields into one reading.

Documents (attachments, dropped files) are the evidence and come first; the body text fills
what they lack. A document that cannot be read does not stop the others.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from app.errors import BadDocument, NeedsOcr
from config.settings import LimitSettings
from intake.confidence import assign, combine_engines
from intake.fields import PaymentFields, extract_fields
from intake.message import Document, ParsedMessage
from intake.text import DocumentText, OcrEngine, read_document

log = logging.getLogger(__name__)


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


def read_message(parsed: ParsedMessage, limits: LimitSettings,
                 ocr: OcrEngine | None = None) -> Reading:
    readings = [read_one(doc, limits, ocr) for doc in _evidence_order(parsed.documents)]
    fields, source = combine(readings)
    _add_subject_codes(fields, parsed.subject)
    problems = [r.error for r in readings if r.error] + list(parsed.notes)
    problems += [f"{r.document.filename or 'document'}: no readable text"
                 + (" (OCR found no words)" if r.text.source == "ocr" else "")
                 for r in readings if r.text is not None and not r.text.text.strip()
                 and r.document.origin != "body"]
    return Reading(readings, fields, source, problems, parsed.subject)


def read_one(doc: Document, limits: LimitSettings, ocr: OcrEngine | None) -> DocumentReading:
    try:
        text = read_document(doc, limits, ocr)
    except NeedsOcr as exc:
        return DocumentReading(doc, error=exc.reason, needs_ocr=True)
    except BadDocument as exc:
        return DocumentReading(doc, error=exc.reason)
    return DocumentReading(doc, text, fields_of(text))


def fields_of(text: DocumentText) -> PaymentFields:
    """The fields of one document with their confidence: two OCR engines' readings combined
    where the second engine read the pages too."""
    alternate = text.alternate_text
    if alternate is not None:
        return combine_engines(text.text, alternate)
    return assign(extract_fields(text.text), text.text, text.source)


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
    for name in ("codes", "amount", "iban", "transfer_ref", "payment_date", "payer"):
        value = combined.codes if name == "codes" else getattr(combined, name)
        if not value:
            combined.confidence[name] = None
        else:
            combined.confidence.setdefault(name, 0.5)
    return combined, source


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
