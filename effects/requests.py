"""Asking the customer for what the decision lacks, once, in the caller's transaction.

A message whose only evidence is the customer's own text ("ho pagato RLM95055, CRO ...")
goes to review with the reason "no bank document", and its sender is asked, once, for the
document the bank or the post office issued (DOMAIN.md: "Documentazione diversa da quella
descritta non verrà considerata valida ai fini dell'accredito"). Once means once per sender
and per the orders (or amount) the claim is about: a customer who writes twice, or whose
claim arrives by email and by PEC, is not asked twice. Automatic senders (mailer-daemon,
auto-responders, the fax gateway, PEC system receipts) are never written to.
"""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from config.settings import Settings
from matching.decide import ASK_BANK_DOCUMENT, MatchDecision
from notifier import replies
from store import audit
from store.models import MessageRow

log = logging.getLogger("pec_intake.effects")


def bank_document_key(receipt_row: MessageRow, decision: MatchDecision) -> str:
    """The event 'this customer was asked for the bank's document about these orders'."""
    sender = (receipt_row.sender or "").strip().lower()
    codes = sorted(decision.inputs.get("codes") or [])
    about = ",".join(codes) if codes else f"amount {decision.inputs.get('amount') or '-'}"
    return f"proof-request:bank_document:{sender}:{about}"


def ask_for_what_is_missing(session: Session, receipt_row: MessageRow, decision: MatchDecision,
                            *, settings: Settings, actor: str) -> bool:
    """Queues the request ``decision.request`` names, if any and if the sender can be written
    to; returns whether a mail was queued (False when asked before)."""
    if decision.request != ASK_BANK_DOCUMENT:
        return False
    try:
        mail = replies.queue_proof_request(session, settings, receipt_row, ASK_BANK_DOCUMENT,
                                           event_key=bank_document_key(receipt_row, decision))
    except replies.NotAnswerable as exc:
        log.info("receipt #%s: %s", receipt_row.id, exc.reason)
        return False
    if mail is not None:
        audit.record(session, receipt_row, "proof_request", ASK_BANK_DOCUMENT, actor=actor,
                     reason=f"asked {receipt_row.sender} for the bank's document "
                            f"(mail event {mail.event_key})")
    return mail is not None
