"""One view per page: a plain dataclass built from the database, rendered as HTML for people
and as JSON for scripts and tests (Datasette's pattern: ``/receipts/7`` and
``/receipts/7.json`` come from the same data)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from config.settings import Settings
from review import queue
from review.actions import combined_fields, review_state
from review.candidates import CandidateView, candidates_for, fields_of
from review.errors import NotFound
from review.pages import Highlight, manifest
from review.statements import OrderBankView, order_bank
from store.models import (
    AuditRow,
    DocumentRow,
    MatchDecisionRow,
    MessageRow,
    OrderRow,
    OutgoingMailRow,
    ReceiptOrderRow,
    RenewalJobRow,
)
from store.reviews import ReviewActionRow

FIELD_LABELS = (("codes", "Codici ordine"), ("amount", "Importo"), ("iban", "IBAN beneficiario"),
                ("transfer_ref", "CRO/TRN"), ("payment_date", "Data pagamento"),
                ("payer", "Ordinante"), ("method", "Metodo"))
STATUS_LABELS = {"unmatched": "in coda", "matched": "abbinata", "duplicate": "duplicato",
                 "quarantined": "in quarantena", "dismissed": "archiviata",
                 "pec_receipt": "ricevuta PEC", "support": "assistenza commerciale",
                 "received": "ricevuta", "pending": "in attesa", "paid": "pagato",
                 "renewed": "rinnovato", "renewal_failed": "rinnovo fallito",
                 "awaiting_bank": "in attesa della banca"}
FLAG_LABELS = {"refund_review": "pagato in più: rimborso?",
               "underpaid_within_tolerance": "pagato meno, entro la tolleranza",
               "double_payment_review": "possibile doppio pagamento",
               "unconfirmed_by_bank": "non confermato dall'estratto conto"}
ACTION_LABELS = {"match": "abbinata", "dismiss": "archiviata", "duplicate": "duplicato",
                 "request_readable_proof": "chiesta ricevuta leggibile",
                 "request_missing_code": "chiesto il codice", "requeue": "rimessa in coda",
                 "undo": "abbinamento annullato"}


def to_json(value: Any) -> Any:
    """A view as JSON-ready data: dates ISO, money as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in getattr(value, "json_extra", ()):
            data[name] = to_json(getattr(value, name))
        return data
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


# --- the receipt page ---------------------------------------------------------------------

@dataclass(frozen=True)
class FieldView:
    name: str
    label: str
    value: str | None
    confidence: float | None
    snippet: str | None


@dataclass(frozen=True)
class DocumentView:
    id: int
    filename: str | None
    kind: str
    origin: str
    text_source: str | None
    pages: int
    highlights: list[Highlight]
    error: str | None
    text: str | None


@dataclass(frozen=True)
class ActionView:
    at: datetime
    actor: str
    action: str
    label: str
    reason: str | None
    order_codes: list[str]
    undone: bool


@dataclass(frozen=True)
class ReceiptView:
    id: int
    status: str
    status_label: str
    reason: str | None
    reason_label: str | None
    received_at: datetime
    source: str
    sender: str | None
    certified_sender: str | None
    subject: str | None
    body: str | None
    filename: str | None
    fields: list[FieldView]
    documents: list[DocumentView]
    candidates: list[CandidateView]
    order_codes: list[str]
    duplicate_of: int | None
    version: int
    locked_by: str | None       # another person who has it open
    reviewed_by: str | None
    reviewed_at: datetime | None
    history: list[ActionView]
    undo_until: datetime | None
    requests_sent: list[str]
    mails_to_sender: list[dict]   # requests already queued or sent to this sender
    previous_id: int | None
    next_id: int | None
    amount: str | None


def receipt_view(session: Session, settings: Settings, message_id: int, *, user: str,
                 now: datetime, lock: bool) -> ReceiptView:
    from review.actions import open_for
    receipt = session.get(MessageRow, message_id)
    if receipt is None:
        raise NotFound(f"receipt {message_id} does not exist", "Ricevuta inesistente.")
    other = open_for(session, message_id, user, now) if lock else None
    state = review_state(session, message_id, now)
    extraction = combined_fields(session, message_id)
    decision = session.scalars(select(MatchDecisionRow).where(
        MatchDecisionRow.message_id == message_id, MatchDecisionRow.decided_by == "daemon")
        .order_by(MatchDecisionRow.id.desc())).first()
    inputs = decision.inputs if decision else {}
    fields = fields_of(extraction, inputs.get("code_reads", []))
    fax = any(s.name == receipt.source and s.fax_gateway for s in settings.sources)
    senders = [] if fax else [s for s in (receipt.sender, receipt.certified_sender) if s]
    candidates = candidates_for(
        session, receipt, fields, receipt.text_source, senders,
        [c["code"] for c in (decision.candidates if decision else [])],
        settings.matching.underpayment_tolerance)
    documents = list(session.scalars(select(DocumentRow).where(
        DocumentRow.message_id == message_id).order_by(DocumentRow.id)))
    body = next((d.text for d in documents if d.origin == "body"), None)
    docs = []
    for d in documents:
        if d.origin == "body":
            continue
        m = manifest(settings, receipt, d, extraction)
        docs.append(DocumentView(d.id, d.filename, d.kind, d.origin, d.text_source, m.pages,
                                 m.highlights, d.error or m.error,
                                 d.text if not m.pages else None))
    actions = list(session.scalars(select(ReviewActionRow).where(
        ReviewActionRow.message_id == message_id).order_by(ReviewActionRow.id)))
    open_match = next((a for a in reversed(actions) if a.action == "match"
                       and a.undone_at is None), None)
    undo_until = open_match.undo_until if (open_match and open_match.undo_until
                                           and open_match.undo_until > now
                                           and receipt.status in ("matched", "support")) \
        else None
    prev_id, next_id = queue.neighbours(session, message_id, today=now.date(),
                                        urgent_days=settings.review.urgent_days)
    evidence = (extraction.evidence or {}) if extraction else {}
    return ReceiptView(
        id=receipt.id, status=receipt.status,
        status_label=STATUS_LABELS.get(receipt.status, receipt.status),
        reason=receipt.reason,
        reason_label=queue.REASON_LABELS[queue.reason_kind(receipt.reason)]
        if receipt.status == "unmatched" else None,
        received_at=receipt.received_at, source=receipt.source, sender=receipt.sender,
        certified_sender=receipt.certified_sender, subject=receipt.subject, body=body,
        filename=receipt.filename, fields=_field_views(extraction, evidence, inputs),
        documents=docs, candidates=candidates,
        order_codes=sorted(link.order.code for link in receipt.orders),
        duplicate_of=receipt.duplicate_of_id, version=state.version, locked_by=other,
        reviewed_by=state.reviewed_by, reviewed_at=state.reviewed_at,
        history=[ActionView(a.at, a.actor.removeprefix("person:"), a.action,
                            ACTION_LABELS.get(a.action, a.action), a.reason,
                            list(a.order_codes or []), a.undone_at is not None)
                 for a in actions],
        undo_until=undo_until,
        requests_sent=[a.action.removeprefix("request_") for a in actions
                       if a.action.startswith("request_")],
        mails_to_sender=[{"subject": m.subject, "status": m.status, "created_at": m.created_at,
                          "event_key": m.event_key}
                         for m in session.scalars(select(OutgoingMailRow).where(
                             OutgoingMailRow.template == "proof_request",
                             OutgoingMailRow.to_addr == receipt.sender)
                             .order_by(OutgoingMailRow.id).limit(20))] if receipt.sender else [],
        previous_id=prev_id, next_id=next_id,
        amount=None if extraction is None or extraction.amount is None
        else f"{extraction.amount:.2f}")


def _field_views(extraction, evidence: dict, inputs: dict) -> list[FieldView]:  # noqa: ANN001
    if extraction is None:
        return []
    reads = {r["code"]: r for r in inputs.get("code_reads", [])}
    out = []
    for name, label in FIELD_LABELS:
        value = getattr(extraction, name)
        if name == "codes":
            text = ", ".join(value or []) or None
            conf = min((float(reads[c]["confidence"]) for c in value or [] if c in reads),
                       default=1.0 if value else None)
            snippet = "; ".join(reads[c]["raw"] for c in value or [] if c in reads) or None
        else:
            text = None if value in (None, "unknown") else (
                value.strftime("%d/%m/%Y") if isinstance(value, date) else
                f"{value:.2f}".replace(".", ",") if isinstance(value, Decimal) else str(value))
            ev = evidence.get(name) or {}
            conf = ev.get("confidence") if text is not None else None
            snippet = ev.get("snippet")
        out.append(FieldView(name, label, text, conf, snippet))
    return out


# --- the order page -----------------------------------------------------------------------

@dataclass(frozen=True)
class AuditView:
    at: datetime
    actor: str
    entity: str
    field: str
    old_value: str | None
    new_value: str | None
    reason: str | None


@dataclass(frozen=True)
class OrderView:
    code: str
    status: str
    status_label: str
    status_reason: str | None
    customer_name: str
    customer_email: str
    pec_address: str
    userid: str
    amount: str
    paid_amount: str | None
    paid_at: datetime | None
    expiry_date: date
    new_expiry_date: date | None
    years: int
    review_flag: str | None
    review_reason: str | None
    receipts: list[dict]
    mails: list[dict]
    renewals: list[dict]
    history: list[AuditView]
    # its proofs of payment and the bank's statement lines, side by side
    bank: OrderBankView | None = None


def order_view(session: Session, code: str) -> OrderView:
    row = session.scalar(select(OrderRow).where(OrderRow.code == code.upper()))
    if row is None:
        raise NotFound(f"order {code} does not exist", "Ordine inesistente.")
    links = list(session.execute(select(ReceiptOrderRow, MessageRow).join(
        MessageRow, MessageRow.id == ReceiptOrderRow.message_id).where(
        ReceiptOrderRow.order_id == row.id).order_by(ReceiptOrderRow.id)))
    mails = list(session.scalars(select(OutgoingMailRow).where(
        OutgoingMailRow.order_id == row.id).order_by(OutgoingMailRow.id)))
    jobs = list(session.scalars(select(RenewalJobRow).where(
        RenewalJobRow.order_id == row.id).order_by(RenewalJobRow.id)))
    conds = [(AuditRow.entity == "orders") & (AuditRow.entity_id == row.id)]
    if mails:
        conds.append((AuditRow.entity == "outgoing_mail")
                     & AuditRow.entity_id.in_([m.id for m in mails]))
    if jobs:
        conds.append((AuditRow.entity == "renewal_jobs")
                     & AuditRow.entity_id.in_([j.id for j in jobs]))
    audit_rows = session.scalars(select(AuditRow).where(or_(*conds)).order_by(AuditRow.id))
    money = (lambda v: None if v is None else f"{v:.2f}")  # noqa: E731
    return OrderView(
        code=row.code, status=row.status, status_label=STATUS_LABELS.get(row.status, row.status),
        status_reason=row.status_reason, customer_name=row.customer_name,
        customer_email=row.customer_email, pec_address=row.pec_address, userid=row.userid,
        amount=f"{row.amount:.2f}", paid_amount=money(row.paid_amount), paid_at=row.paid_at,
        expiry_date=row.expiry_date, new_expiry_date=row.new_expiry_date, years=row.years,
        review_flag=row.review_flag, review_reason=row.review_reason,
        receipts=[{"id": m.id, "status": m.status, "amount": money(link.amount),
                   "received_at": m.received_at, "sender": m.sender, "subject": m.subject}
                  for link, m in links],
        mails=[{"id": m.id, "template": m.template, "to": m.to_addr, "subject": m.subject,
                "status": m.status, "created_at": m.created_at, "sent_at": m.sent_at,
                "next_attempt_at": m.next_attempt_at} for m in mails],
        renewals=[{"id": j.id, "status": j.status, "due_at": j.due_at, "done_at": j.done_at,
                   "attempts": j.attempts, "last_error": j.last_error} for j in jobs],
        history=[AuditView(a.at, a.actor, a.entity, a.field, a.old_value, a.new_value,
                           a.reason) for a in audit_rows],
        bank=order_bank(session, row))


@dataclass(frozen=True)
class PreviewView:
    receipt_id: int
    what: str
    to: str | None
    subject: str | None
    text: str | None
    refused: str | None
    already_sent: bool
    extra: dict = field(default_factory=dict)
