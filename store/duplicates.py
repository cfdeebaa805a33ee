"""Has this payment been recorded before? The same bytes, the same document, the same
CRO/TRN, or the same code + amount + date + payer (one receipt sent by email and by fax).

Only receipts whose payment was recorded (``matched``, ``support``) count: a copy of a receipt
still in review is decided again on its own, so it can match once its order is imported.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from intake.fields import PaymentFields
from matching.decide import MATCHED, SUPPORT, PriorReceipt
from matching.signals import names_match
from store.models import DocumentRow, ExtractionRow, MessageRow, OrderRow, ReceiptOrderRow

RECORDED = (MATCHED, SUPPORT)


def prior_payment(session: Session, receipt_id: int, sha256: str, doc_hashes: Sequence[str],
                  fields: PaymentFields) -> PriorReceipt | None:
    if not _may_have_prior(session, receipt_id, sha256, doc_hashes, fields):
        return None  # the usual case, a new payment: one statement instead of four
    recorded = select(MessageRow).where(MessageRow.id != receipt_id,
                                        MessageRow.status.in_(RECORDED))
    checks = [("same message", recorded.where(MessageRow.sha256 == sha256))]
    if fields.transfer_ref and fields.amount is not None:
        checks.append((f"same CRO/TRN {fields.transfer_ref}",
                       recorded.join(ExtractionRow).where(
                           ExtractionRow.document_id.is_(None),
                           ExtractionRow.transfer_ref == fields.transfer_ref,
                           ExtractionRow.amount == fields.amount)))
    for why, query in checks:
        prior = session.scalars(query.order_by(MessageRow.id)).first()
        if prior is not None:
            return _prior(prior, why)
        if why == "same message" and doc_hashes:
            prior = _same_document(session, receipt_id, doc_hashes)
            if prior is not None:
                return prior
    return _same_details(session, receipt_id, fields)


def _may_have_prior(session: Session, receipt_id: int, sha256: str, doc_hashes: Sequence[str],
                    fields: PaymentFields) -> bool:
    """Whether any of the checks below can find something: the same conditions without
    their final tests in Python (a superset), each an indexed EXISTS, in one statement."""
    recorded = (MessageRow.id != receipt_id, MessageRow.status.in_(RECORDED))
    checks = [exists().where(*recorded, MessageRow.sha256 == sha256)]
    if doc_hashes:
        checks.append(exists().where(
            DocumentRow.sha256.in_(list(doc_hashes)), DocumentRow.message_id == MessageRow.id,
            ExtractionRow.document_id == DocumentRow.id, *recorded))
    if fields.transfer_ref and fields.amount is not None:
        checks.append(exists().where(
            ExtractionRow.transfer_ref == fields.transfer_ref,
            ExtractionRow.amount == fields.amount, ExtractionRow.document_id.is_(None),
            ExtractionRow.message_id == MessageRow.id, *recorded))
    if fields.codes and fields.amount is not None and fields.payment_date and fields.payer:
        checks.append(exists().where(
            OrderRow.code.in_(sorted(set(fields.codes))),
            ReceiptOrderRow.order_id == OrderRow.id,
            ExtractionRow.message_id == ReceiptOrderRow.message_id,
            ExtractionRow.document_id.is_(None), ExtractionRow.amount == fields.amount,
            ExtractionRow.payment_date == fields.payment_date,
            MessageRow.id == ExtractionRow.message_id, *recorded))
    return bool(session.scalar(select(or_(*checks))))


def _same_document(session: Session, receipt_id: int,
                   doc_hashes: Sequence[str]) -> PriorReceipt | None:
    """An earlier recorded receipt whose payment was read from this very document: the
    earlier copy must have carried a code, an amount or a CRO/TRN too, so a logo, a
    signature image or a banner both emails share never makes them one receipt."""
    query = (select(MessageRow, ExtractionRow).join(DocumentRow, DocumentRow.message_id ==
                                                    MessageRow.id)
             .join(ExtractionRow, ExtractionRow.document_id == DocumentRow.id)
             .where(MessageRow.id != receipt_id, MessageRow.status.in_(RECORDED),
                    DocumentRow.sha256.in_(list(doc_hashes)))
             .order_by(MessageRow.id))
    for message, extraction in session.execute(query):
        if extraction.codes or extraction.amount is not None or extraction.transfer_ref:
            return _prior(message, "same document")
    return None


def _same_details(session: Session, receipt_id: int,
                  fields: PaymentFields) -> PriorReceipt | None:
    """Same code, amount, payment date and payer: the fax of a receipt already emailed."""
    if not (fields.codes and fields.amount is not None and fields.payment_date and fields.payer):
        return None
    codes = set(fields.codes)
    # only receipts that paid one of the orders named: bounded by those orders' payments,
    # not by every payment of the same price on the same day
    paid_named = (select(ReceiptOrderRow.message_id).join(OrderRow)
                  .where(OrderRow.code.in_(sorted(codes))))
    query = (select(ExtractionRow, MessageRow).join(MessageRow)
             .where(ExtractionRow.document_id.is_(None), ExtractionRow.amount == fields.amount,
                    ExtractionRow.payment_date == fields.payment_date,
                    MessageRow.id != receipt_id, MessageRow.status.in_(RECORDED),
                    MessageRow.id.in_(paid_named))
             .order_by(MessageRow.id))
    for extraction, message in session.execute(query):
        if (codes & set(extraction.codes or ()) and extraction.payer
                and names_match(fields.payer, extraction.payer)):
            shared = ", ".join(sorted(codes & set(extraction.codes)))
            return _prior(message, f"same code {shared}, amount, date and payer")
    return None


def _prior(row: MessageRow, why: str) -> PriorReceipt:
    return PriorReceipt(row.id, why, tuple(sorted(link.order.code for link in row.orders)))
