"""Carrying out a match decision: the one place that pays orders, routes them to sales
support, flags them, queues the renewal job and the customer's mail, links receipts to the
orders they paid and audits each change.

Contract for every public function of this module:

- It MUST be called inside the caller's open transaction (``session``) and SHALL NOT commit,
  roll back or open a session of its own: the caller commits the decision and all its
  effects together, or none of them (the transactional outbox). Mail is only *queued* here;
  it is sent later by ``notifier.outbox.deliver_due``.
- Each effect SHALL happen exactly once per event. Paying claims the order with a guarded
  ``UPDATE ... WHERE status = 'pending'``: a second payment of the same order raises
  ``OrderNoLongerPending`` and changes nothing, so the caller rolls back (another process, a
  person or a bank statement line paid it first). The renewal job and every mail carry an
  idempotency key built from the order code and ``evidence_key``, so the same event never
  renews twice or mails twice, even when replayed.
- Every state change SHALL be written to the audit log with ``actor`` (``"daemon"``, or
  ``"person:<login>"`` for the review UI, ``"statement:<file>"`` for a bank statement) and a
  reason naming the evidence.
- Time comes only from ``clock`` and configuration only from ``settings``: no global state.

``apply_decision`` is for a receipt (a ``MessageRow``) and a ``MatchDecision``, whoever made
it: the pipeline, or a person in the review UI who builds a decision for the orders they
chose. ``settle_order``/``pay_order``/``route_to_support`` are the lower level for evidence
that is not a receipt (a bank statement line): ``evidence_key`` names it uniquely (for a
receipt it is the receipt id) and ``receipt_id`` is None.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from core.status import OrderStatus, ReceiptStatus, RenewalJobStatus
from effects.requests import ask_for_what_is_missing
from matching.decide import MatchDecision
from matching.renewal import support_reason
from notifier import compose, outbox
from store import audit
from store import orderbook as book
from store.models import (
    MatchDecisionRow,
    MessageRow,
    OrderRow,
    ReceiptOrderRow,
    RenewalJobRow,
)
from store.orderbook import OrderNoLongerPending

Clock = Callable[[], datetime]
DAEMON = audit.DAEMON

__all__ = ["DAEMON", "Applied", "OrderNoLongerPending", "apply_decision", "finish_receipt",
           "flag_order", "pay_order", "record_decision", "route_to_support",
           "schedule_renewal", "settle_order"]


@dataclass(frozen=True)
class Applied:
    """What ``apply_decision`` did: the receipt's new status and reason, the orders paid (for
    the online renewal) and those routed to sales support."""

    status: str
    reason: str | None
    order_codes: tuple[str, ...]
    paid: tuple[str, ...] = ()
    support: tuple[str, ...] = ()


def apply_decision(session: Session, receipt_row: MessageRow, decision: MatchDecision, *,
                   settings: Settings, clock: Clock, actor: str = DAEMON,
                   amount: Decimal | None = None, reason: str | None = None) -> Applied:
    """Records ``decision`` for the receipt and carries it out, in the caller's transaction.

    ``amount`` is the amount the receipt shows (it is what a single order is recorded as
    paid; several orders are each recorded at their own price). ``reason`` overrides the
    receipt's recorded reason (the decision's by default). For ``matched``/``support`` every
    order of ``decision.order_codes`` is paid, or routed to sales support when the decision
    says so; a ``duplicate`` records what it duplicates; every flag of the decision is put on
    its order. The receipt's status becomes ``decision.outcome``. Raises
    ``OrderNoLongerPending`` (nothing to keep: roll back) when an order was claimed first."""
    record_decision(session, receipt_row, decision, clock=clock, actor=actor)
    paid: list[str] = []
    support: list[str] = []
    label = f"receipt #{receipt_row.id}"
    if decision.outcome in (ReceiptStatus.MATCHED, ReceiptStatus.SUPPORT):
        for code in decision.order_codes:
            why = decision.support_reason(code)
            value = _paid_amount(session, code, amount, decision)
            common = dict(settings=settings, clock=clock, actor=actor,
                          reason=f"{label}: {decision.reason}",
                          evidence_key=str(receipt_row.id), receipt_id=receipt_row.id)
            if why is None:
                pay_order(session, code, value, **common)
                paid.append(code)
            else:
                route_to_support(session, code, value, why, **common)
                support.append(code)
    elif decision.outcome == ReceiptStatus.DUPLICATE:
        receipt_row.duplicate_of_id = decision.duplicate_of
    for flag in decision.flags:
        flag_order(session, flag.code, flag.flag, f"{label}: {flag.reason}", actor=actor)
    finish_receipt(session, receipt_row, decision.outcome,
                   decision.reason if reason is None else reason, clock=clock, actor=actor)
    # "no bank document": the customer is asked, once, for the bank's confirmation
    ask_for_what_is_missing(session, receipt_row, decision, settings=settings, actor=actor)
    return Applied(decision.outcome, receipt_row.reason, tuple(decision.order_codes),
                   tuple(paid), tuple(support))


def settle_order(session: Session, code: str, amount: Decimal, *, settings: Settings,
                 clock: Clock, actor: str, reason: str, evidence_key: str,
                 receipt_id: int | None = None) -> tuple[OrderRow, str | None]:
    """Pays a pending order, or routes it to sales support when the online-renewal rules
    (``matching.renewal.support_reason``, on today's date) say it cannot be renewed online.
    Returns the order and the support reason (None when paid). For callers without a
    ``MatchDecision`` (a bank statement line, a person's match)."""
    order = book.orders_for_codes(session, [code]).get(code)
    if order is None:
        raise OrderNoLongerPending(code)
    why = support_reason(order, clock().date())
    common = dict(settings=settings, clock=clock, actor=actor, reason=reason,
                  evidence_key=evidence_key, receipt_id=receipt_id)
    if why is None:
        return pay_order(session, code, amount, **common), None
    return route_to_support(session, code, amount, why, **common), why


def pay_order(session: Session, code: str, amount: Decimal, *, settings: Settings,
              clock: Clock, actor: str, reason: str, evidence_key: str,
              receipt_id: int | None = None) -> OrderRow:
    """pending -> paid (``amount`` recorded), then the renewal job (due
    ``renewal.delay_hours`` later) and the payment-received mail, linked to ``receipt_id``
    when given. Raises ``OrderNoLongerPending`` if the order is not pending any more."""
    now = clock()
    row = book.mark_paid(session, code, amount, now, reason=reason, actor=actor)
    _link(session, receipt_id, row, amount)
    due = schedule_renewal(session, row, now, settings, f"renewal:{code}:{evidence_key}",
                           actor=actor).due_at
    mail = compose.payment_received(book.to_order(row), amount, due, settings.sender_name)
    outbox.queue(session, mail, f"payment-received:{code}:{evidence_key}", row.id,
                 _sender_domain(settings))
    return row


def route_to_support(session: Session, code: str, amount: Decimal, why: str, *,
                     settings: Settings, clock: Clock, actor: str, reason: str,
                     evidence_key: str, receipt_id: int | None = None) -> OrderRow:
    """pending -> support: the payment is recorded but the online procedure cannot renew the
    mailbox (``why`` becomes the status reason); no renewal job; the customer is told the
    payment arrived and sales support will renew. Raises ``OrderNoLongerPending``."""
    row = book.route_to_support(session, code, amount, clock(), reason, why, actor=actor)
    _link(session, receipt_id, row, amount)
    mail = compose.payment_received_support(book.to_order(row), amount, settings.sender_name)
    outbox.queue(session, mail, f"payment-received-support:{code}:{evidence_key}", row.id,
                 _sender_domain(settings))
    return row


def flag_order(session: Session, code: str, flag: str, reason: str, *,
               actor: str = DAEMON) -> None:
    """Puts a review flag (``core.status.ReviewFlag``) on the order, audited; its status is
    unaffected. An unknown code is ignored."""
    book.flag_order(session, code, flag, reason, actor=actor)


def schedule_renewal(session: Session, order: OrderRow, paid_at: datetime, settings: Settings,
                     key: str, *, actor: str = DAEMON) -> RenewalJobRow:
    """The renewal owed for a payment, due ``renewal.delay_hours`` after it. One job per
    ``key``: scheduling the same payment again returns the job already there."""
    existing = session.scalar(select(RenewalJobRow).where(RenewalJobRow.idempotency_key == key))
    if existing is not None:
        return existing
    due = paid_at + timedelta(hours=settings.renewal.delay_hours)
    job = RenewalJobRow(order_id=order.id, due_at=due, status=RenewalJobStatus.PENDING,
                        idempotency_key=key)
    session.add(job)
    audit.record(session, job, "status", RenewalJobStatus.PENDING, actor=actor,
                 reason=f"order {order.code} paid; renewal due {due.isoformat()}")
    return job


def record_decision(session: Session, receipt_row: MessageRow, decision: MatchDecision, *,
                    clock: Clock, actor: str = DAEMON) -> MatchDecisionRow:
    """The decision with its inputs and candidates, as the receipt's history (never
    overwritten: a later decision, a person's or a retry's, is one more row)."""
    row = MatchDecisionRow(
        message_id=receipt_row.id, outcome=decision.outcome, reason=decision.reason,
        order_codes=list(decision.order_codes),
        candidates=[{"code": c.code, "score": c.score, "reasons": list(c.reasons)}
                    for c in decision.candidates],
        flags=[{"code": f.code, "flag": f.flag, "reason": f.reason} for f in decision.flags]
        + [{"code": code, "flag": OrderStatus.SUPPORT, "reason": why}
           for code, why in decision.support],
        inputs=decision.inputs, decided_by=actor, decided_at=clock())
    session.add(row)
    return row


def finish_receipt(session: Session, receipt_row: MessageRow, status: str,
                   reason: str | None, *, clock: Clock, actor: str = DAEMON) -> None:
    """The receipt's outcome: status (audited, with the reason) and processing time; a
    matched receipt keeps no reason."""
    audit.change(session, receipt_row, "status", status, reason=reason or status, actor=actor)
    receipt_row.reason = None if status == ReceiptStatus.MATCHED else reason
    receipt_row.processed_at = clock()


def _paid_amount(session: Session, code: str, amount: Decimal | None,
                 decision: MatchDecision) -> Decimal:
    """What this receipt paid for ``code``: the amount read when it pays one order; the
    order's own price when one payment covers several."""
    if len(decision.order_codes) == 1 and amount:
        return amount
    return book.orders_for_codes(session, [code])[code].amount


def _link(session: Session, receipt_id: int | None, row: OrderRow, amount: Decimal) -> None:
    if receipt_id is not None:
        session.add(ReceiptOrderRow(message_id=receipt_id, order_id=row.id, amount=amount))


def _sender_domain(settings: Settings) -> str:
    return outbox.sender_address(settings).split("@")[-1]
