"""What a person does to a receipt: match, dismiss, duplicate of, request a proof, requeue,
undo. The same functions serve the web forms and the CLI (``receipts match ...``).

Every action runs in the caller's transaction, is audited with the person and the reason,
bumps the receipt's review version, and refuses a decision made on an older version (two
reviewers, one receipt: the second is told, nothing is applied twice). A match runs the
effects of an automatic match (``effects``): paid, renewal queued, confirmation mail queued,
exactly once; the mail waits ``[review] undo_seconds`` so a slip can be undone before
anything leaves.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

import effects
from config.settings import Settings
from effects import bank as bank_effects
from matching.decide import MatchDecision
from notifier.replies import NotAnswerable, queue_proof_request
from review import queue
from review.errors import Conflict, NotFound, ReviewError
from store import audit
from store.models import (
    ExtractionRow,
    MatchDecisionRow,
    MessageRow,
    OrderRow,
    OutgoingMailRow,
    ReceiptOrderRow,
    RenewalJobRow,
)
from store.reviews import ReceiptReviewRow, ReviewActionRow

UNMATCHED, MATCHED, SUPPORT, DISMISSED, DUPLICATE = (
    "unmatched", "matched", "support", "dismissed", "duplicate")
# a person may match or dismiss a receipt in these states (overriding the daemon's view)
DECIDABLE = (UNMATCHED, DISMISSED, DUPLICATE, "quarantined")
REQUEUEABLE = (DISMISSED, DUPLICATE, "quarantined", "pec_receipt")
LOCK_MINUTES = 10


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ReviewContext:
    settings: Settings
    clock: Callable[[], datetime] = utcnow


class NeedsConfirmation(ReviewError):
    """The amounts differ: the person must confirm (nothing was changed)."""

    status_code = 200

    def __init__(self, paid: Decimal | None, due: Decimal, codes: Sequence[str]) -> None:
        from matching.signals import euro
        paid_text = euro(paid) if paid is not None else "non letto"
        super().__init__(
            f"amount paid {paid if paid is not None else 'unknown'} differs from the "
            f"{due} due for {', '.join(codes)}",
            f"L'importo pagato ({paid_text}) è diverso da quello dovuto ({euro(due)}) per "
            f"{', '.join(codes)}. Confermi l'abbinamento?")
        self.paid, self.due, self.codes = paid, due, tuple(codes)


@dataclass(frozen=True)
class ActionResult:
    message_id: int
    action: str
    status: str
    order_codes: tuple[str, ...] = ()
    action_id: int | None = None
    undo_until: datetime | None = None
    note: str | None = None


def perform(db, action: Callable[..., ActionResult], *args: object,  # noqa: ANN001 (store.db.Database)
            **kwargs: object) -> ActionResult:
    """Runs one action in its own transaction. Another decision on the same receipt committed
    in between (a unique row created twice, SQLite's write lock on a stale snapshot) is a
    ``Conflict``: everything of this one is rolled back and the person is told."""
    try:
        with db.session() as session:
            return action(session, *args, **kwargs)
    except IntegrityError:
        raise _concurrent() from None
    except OperationalError as exc:
        if "locked" in str(exc).lower() or "serializ" in str(exc).lower():
            raise _concurrent() from None
        raise


def _concurrent() -> Conflict:
    return Conflict("another decision on this receipt was being recorded at the same moment; "
                    "nothing of this one was applied",
                    "Un'altra decisione sulla stessa ricevuta è stata registrata nello stesso "
                    "momento (modificata nel frattempo): la tua non è stata applicata. "
                    "Ricarica la pagina.")


# --- look-ups -----------------------------------------------------------------------------

def receipt_for_update(session: Session, message_id: int) -> MessageRow:
    row = session.get(MessageRow, message_id)
    if row is None:
        raise NotFound(f"receipt {message_id} does not exist",
                       f"la ricevuta {message_id} non esiste")
    return row


def review_state(session: Session, message_id: int, at: datetime) -> ReceiptReviewRow:
    row = session.get(ReceiptReviewRow, message_id)
    if row is None:  # not indexed by the queue yet (opened by its link, or from the CLI)
        row = ReceiptReviewRow(**queue.build_entries(session, [message_id])[0])
        session.add(row)
        session.flush()
    return row


def combined_fields(session: Session, message_id: int) -> ExtractionRow | None:
    return session.scalars(select(ExtractionRow).where(
        ExtractionRow.message_id == message_id, ExtractionRow.document_id.is_(None))
        .order_by(ExtractionRow.id.desc())).first()


def _check_version(session: Session, message_id: int, version: int | None,
                   at: datetime) -> ReceiptReviewRow:
    """A decision made on an older page is refused first, whatever the state is now."""
    state = review_state(session, message_id, at)
    if version is not None and state.version != version:
        raise _conflict(session, state)
    return state


def _bump(session: Session, state: ReceiptReviewRow, expected: int | None, actor: str,
          at: datetime) -> None:
    """The version check: one conditional UPDATE, so of two decisions on the same version
    exactly one succeeds, even from two processes."""
    if expected is not None and state.version != expected:
        raise _conflict(session, state)
    result = session.execute(
        update(ReceiptReviewRow).where(ReceiptReviewRow.message_id == state.message_id,
                                       ReceiptReviewRow.version == state.version)
        .values(version=state.version + 1, reviewed_by=_person(actor), reviewed_at=at,
                locked_by=None, locked_at=None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise _conflict(session, state)
    session.refresh(state)


def _conflict(session: Session, state: ReceiptReviewRow) -> Conflict:
    session.refresh(state)
    who = state.reviewed_by or "un altro utente"
    return Conflict(f"receipt {state.message_id} changed meanwhile (now version "
                    f"{state.version}, by {who}); nothing was applied",
                    f"La ricevuta è stata modificata nel frattempo da {who}: "
                    "la tua decisione non è stata applicata. Ricarica la pagina.")


def _person(actor: str) -> str:
    return actor.split(":", 1)[1] if actor.startswith("person:") else actor


def _actor(name: str) -> str:
    return name if name.startswith("person:") else f"person:{name}"


def _set_status(session: Session, receipt: MessageRow, status: str, reason: str | None,
                actor: str, why: str) -> None:
    audit.change(session, receipt, "status", status, reason=why, actor=actor)
    receipt.reason = reason


def _record(session: Session, receipt: MessageRow, action: str, actor: str, at: datetime,
            reason: str | None, codes: Sequence[str] = (), details: dict | None = None,
            undo_until: datetime | None = None) -> ReviewActionRow:
    row = ReviewActionRow(message_id=receipt.id, action=action, actor=actor, at=at,
                          reason=reason, order_codes=list(codes), details=details,
                          undo_until=undo_until)
    session.add(row)
    session.flush()
    return row


# --- locks (who has the receipt open) -----------------------------------------------------

def open_for(session: Session, message_id: int, user: str, at: datetime) -> str | None:
    """Notes that ``user`` has the receipt open; returns who else has it, if anyone (a lock
    older than LOCK_MINUTES is stale and taken over)."""
    state = review_state(session, message_id, at)
    stale = state.locked_at is None or state.locked_at < at - timedelta(minutes=LOCK_MINUTES)
    if state.locked_by and state.locked_by != user and not stale:
        return state.locked_by
    # one receipt open per person: the one they left is free for the others again
    session.execute(update(ReceiptReviewRow).where(
        ReceiptReviewRow.locked_by == user, ReceiptReviewRow.message_id != message_id)
        .values(locked_by=None, locked_at=None).execution_options(synchronize_session=False))
    state.locked_by, state.locked_at = user, at
    return None


def release(session: Session, message_id: int, user: str) -> None:
    state = session.get(ReceiptReviewRow, message_id)
    if state is not None and state.locked_by == user:
        state.locked_by = state.locked_at = None


# --- match --------------------------------------------------------------------------------

def match(session: Session, ctx: ReviewContext, message_id: int, codes: Sequence[str], *,
          actor: str, reason: str | None = None, version: int | None = None,
          confirmed: bool = False, undo_seconds: float | None = None) -> ActionResult:
    """A person decides that the receipt paid ``codes``. Raises ``NeedsConfirmation`` when
    the amount paid is not the amount due and ``confirmed`` is false."""
    actor, now = _actor(actor), ctx.clock()
    codes = _normal_codes(codes)
    receipt = receipt_for_update(session, message_id)
    state = _check_version(session, message_id, version, now)
    if receipt.status not in DECIDABLE:
        raise Conflict(f"receipt {message_id} is {receipt.status}; only receipts that are "
                       f"{', '.join(DECIDABLE)} can be matched",
                       f"La ricevuta è già «{receipt.status}»: non si può abbinare.")
    orders = _pending_orders(session, codes)
    extraction = combined_fields(session, message_id)
    paid = extraction.amount if extraction else None
    due = sum((o.amount for o in orders), Decimal("0.00"))
    if paid != due and not confirmed:
        raise NeedsConfirmation(paid, due, codes)
    _bump(session, state, version, actor, now)
    why = f"matched by {_person(actor)}" + (f": {reason}" if reason else "")
    if paid is not None and paid != due:
        why += f" (paid {paid}, due {due})"
    outcome, mails, jobs = _carry_out(session, ctx, receipt, orders, paid, actor, why)
    # the bank's line of the same payment, imported before and still unmatched, is joined
    lines = bank_effects.join_lines(
        session, receipt, extraction.transfer_ref if extraction else None, paid, codes, now,
        ctx.settings.matching.our_ibans, actor=actor)
    undo = ctx.settings.review.undo_seconds if undo_seconds is None else undo_seconds
    undo_until = now + timedelta(seconds=undo)
    for mail in mails:  # the undo window: nothing leaves before it closes
        mail.next_attempt_at = max(mail.next_attempt_at or now, undo_until)
    action = _record(session, receipt, "match", actor, now, reason, codes,
                     {"mail_ids": [m.id for m in mails], "job_ids": [j.id for j in jobs],
                      "previous_status": state_status_before(session, receipt),
                      "paid": None if paid is None else str(paid), "line_ids": lines},
                     undo_until)
    return ActionResult(message_id, "match", outcome, tuple(codes), action.id, undo_until)


def _carry_out(session: Session, ctx: ReviewContext, receipt: MessageRow,
               orders: list[OrderRow], paid: Decimal | None, actor: str,
               why: str) -> tuple[str, list[OutgoingMailRow], list[RenewalJobRow]]:
    """The effects of an automatic match (``effects``): each order paid (or routed to sales
    support, by the same rules), its renewal job and confirmation mail queued, the receipt
    linked, the decision recorded, the receipt's status set; all audited as the person."""
    # the event key of this match: a match made again after an undo is a new event (its
    # mail and renewal must not collide with the cancelled ones)
    undone = session.scalar(select(func.count()).select_from(ReviewActionRow).where(
        ReviewActionRow.message_id == receipt.id, ReviewActionRow.action == "undo")) or 0
    key = str(receipt.id) if not undone else f"{receipt.id}.{undone}"
    support: list[str] = []
    try:
        for row in orders:
            amount = paid if (len(orders) == 1 and paid) else row.amount
            _order, why_support = effects.settle_order(
                session, row.code, amount, settings=ctx.settings, clock=ctx.clock,
                actor=actor, reason=f"receipt #{receipt.id}: {why}", evidence_key=key,
                receipt_id=receipt.id)
            if why_support is not None:
                support.append(row.code)
    except effects.OrderNoLongerPending as exc:
        raise Conflict(f"order {exc} was paid meanwhile; nothing was applied",
                       f"L'ordine {exc} è stato pagato nel frattempo: nulla è stato "
                       "applicato.") from None
    codes = tuple(o.code for o in orders)
    outcome = SUPPORT if support else MATCHED
    reason = why + ("; routed to sales support: " + ", ".join(support) if support else "")
    receipt.duplicate_of_id = None
    effects.record_decision(session, receipt, MatchDecision(outcome, reason, codes),
                            clock=ctx.clock, actor=actor)
    effects.finish_receipt(session, receipt, outcome, reason, clock=ctx.clock, actor=actor)
    session.flush()
    mail_keys = [f"{kind}:{code}:{key}" for code in codes
                 for kind in ("payment-received", "payment-received-support")]
    mails = list(session.scalars(select(OutgoingMailRow).where(
        OutgoingMailRow.event_key.in_(mail_keys))))
    jobs = list(session.scalars(select(RenewalJobRow).where(
        RenewalJobRow.idempotency_key.in_([f"renewal:{code}:{key}" for code in codes]))))
    return outcome, mails, jobs


def state_status_before(session: Session, receipt: MessageRow) -> str | None:
    """The receipt's status before the change just audited (from the audit log)."""
    from store.models import AuditRow
    row = session.scalars(select(AuditRow).where(
        AuditRow.entity == "messages", AuditRow.entity_id == receipt.id,
        AuditRow.field == "status").order_by(AuditRow.id.desc())).first()
    return row.old_value if row else None


def _normal_codes(codes: Sequence[str]) -> list[str]:
    out: list[str] = []
    for raw in codes:
        for part in raw.replace(",", " ").split():
            code = part.strip().upper()
            if code and code not in out:
                out.append(code)
    if not out:
        raise ReviewError("no order code given", "Indica almeno un codice d'ordine.")
    return out


def _pending_orders(session: Session, codes: list[str]) -> list[OrderRow]:
    rows = {r.code: r for r in session.scalars(select(OrderRow).where(OrderRow.code.in_(codes)))}
    missing = [c for c in codes if c not in rows]
    if missing:
        raise ReviewError(f"no order {', '.join(missing)}",
                          f"Nessun ordine con codice {', '.join(missing)}.")
    taken = [rows[c] for c in codes if rows[c].status != "pending"]
    if taken:
        raise Conflict("order(s) not pending: " + ", ".join(f"{o.code} is {o.status}"
                                                             for o in taken),
                       "Ordine non in attesa di pagamento: " + ", ".join(
                           f"{o.code} è già «{o.status}»" for o in taken))
    return [rows[c] for c in codes]


# --- undo ---------------------------------------------------------------------------------

def undo(session: Session, ctx: ReviewContext, message_id: int, *, actor: str) -> ActionResult:
    """Takes back a person's match while its undo window is open and its mail has not left:
    orders back to pending, renewal jobs and mails cancelled, the receipt back in the queue.
    Every step is guarded, so an undo racing the mail sender either wins whole or is
    refused."""
    actor, now = _actor(actor), ctx.clock()
    receipt = receipt_for_update(session, message_id)
    action = session.scalars(select(ReviewActionRow).where(
        ReviewActionRow.message_id == message_id, ReviewActionRow.action == "match",
        ReviewActionRow.undone_at.is_(None)).order_by(ReviewActionRow.id.desc())).first()
    if action is None or receipt.status not in (MATCHED, SUPPORT):
        raise Conflict(f"receipt {message_id} has no match to undo",
                       "Non c'è un abbinamento da annullare.")
    if action.undo_until is None or now > action.undo_until:
        raise Conflict(f"receipt {message_id}: the undo window closed at "
                       f"{action.undo_until}", "Il tempo per annullare è scaduto.")
    details = action.details or {}
    moved_on = [link.order.code for link in receipt.orders
                if link.order.status not in ("paid", "support")]
    if moved_on:
        raise Conflict(f"receipt {message_id}: order(s) {', '.join(moved_on)} moved on since "
                       "the match; the match stands",
                       f"Gli ordini {', '.join(moved_on)} sono già andati avanti: "
                       "l'abbinamento non si può più annullare.")
    for mail_id in details.get("mail_ids", []):
        done = session.execute(update(OutgoingMailRow).where(
            OutgoingMailRow.id == mail_id, OutgoingMailRow.status == "queued",
            OutgoingMailRow.attempts == 0).values(status="cancelled")
            .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise Conflict(f"receipt {message_id}: the confirmation mail is already on its "
                           "way; the match stands", "L'e-mail di conferma è già partita: "
                           "l'abbinamento non si può più annullare.")
        audit.record_change(session, session.get(OutgoingMailRow, mail_id), "status",
                            "queued", "cancelled", reason="match undone", actor=actor)
    for job_id in details.get("job_ids", []):
        job = session.get(RenewalJobRow, job_id)
        if job is not None and job.status == "pending" and job.attempts == 0:
            audit.change(session, job, "status", "cancelled", reason="match undone",
                         actor=actor)
    bank_effects.unjoin_lines(session, details.get("line_ids", []), actor=actor,
                              reason=f"match of receipt #{message_id} undone")
    for link in list(receipt.orders):
        order = link.order
        for name in ("status", "paid_amount", "paid_at", "status_reason"):
            audit.change(session, order, name, "pending" if name == "status" else None,
                         reason=f"match of receipt #{message_id} undone", actor=actor)
        session.delete(link)
    session.flush()
    state = review_state(session, message_id, now)
    _bump(session, state, None, actor, now)
    _set_status(session, receipt, UNMATCHED, _queue_reason(session, receipt), actor,
                "match undone")
    action.undone_at = now
    queue.refresh(session, message_id)
    _record(session, receipt, "undo", actor, now, None, action.order_codes)
    return ActionResult(message_id, "undo", receipt.status, tuple(action.order_codes))


def _queue_reason(session: Session, receipt: MessageRow) -> str:
    """The reason the receipt waits: the automatic decision's, else a note."""
    decision = session.scalars(select(MatchDecisionRow).where(
        MatchDecisionRow.message_id == receipt.id, MatchDecisionRow.decided_by == "daemon")
        .order_by(MatchDecisionRow.id.desc())).first()
    return decision.reason if decision else "back in the review queue"


# --- dismiss, duplicate, requeue ----------------------------------------------------------

def dismiss(session: Session, ctx: ReviewContext, message_id: int, *, actor: str,
            reason: str, version: int | None = None) -> ActionResult:
    """Not a payment (a question, a newsletter): out of the queue, nothing paid."""
    actor, now = _actor(actor), ctx.clock()
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("a reason is required to dismiss", "Scrivi il motivo.")
    receipt = receipt_for_update(session, message_id)
    _check_version(session, message_id, version, now)
    if receipt.status not in (UNMATCHED, DUPLICATE, "quarantined", "pec_receipt"):
        raise Conflict(f"receipt {message_id} is {receipt.status}; it cannot be dismissed",
                       f"La ricevuta è «{receipt.status}»: non si può archiviare.")
    _bump(session, review_state(session, message_id, now), version, actor, now)
    _set_status(session, receipt, DISMISSED, reason, actor,
                f"dismissed by {_person(actor)}: {reason}")
    action = _record(session, receipt, "dismiss", actor, now, reason)
    return ActionResult(message_id, "dismiss", DISMISSED, action_id=action.id)


def mark_duplicate(session: Session, ctx: ReviewContext, message_id: int, of_id: int, *,
                   actor: str, reason: str | None = None,
                   version: int | None = None) -> ActionResult:
    actor, now = _actor(actor), ctx.clock()
    receipt = receipt_for_update(session, message_id)
    if of_id == message_id:
        raise ReviewError("a receipt cannot duplicate itself",
                          "Una ricevuta non può essere duplicato di sé stessa.")
    receipt_for_update(session, of_id)
    _check_version(session, message_id, version, now)
    if receipt.status not in (UNMATCHED, DISMISSED, "quarantined"):
        raise Conflict(f"receipt {message_id} is {receipt.status}",
                       f"La ricevuta è «{receipt.status}».")
    _bump(session, review_state(session, message_id, now), version, actor, now)
    why = f"duplicate of #{of_id}, by {_person(actor)}" + (f": {reason}" if reason else "")
    _set_status(session, receipt, DUPLICATE, why, actor, why)
    audit.change(session, receipt, "duplicate_of_id", of_id, reason=why, actor=actor)
    action = _record(session, receipt, "duplicate", actor, now, reason, details={"of": of_id})
    return ActionResult(message_id, "duplicate", DUPLICATE, action_id=action.id)


def requeue(session: Session, ctx: ReviewContext, message_id: int, *,
            actor: str) -> ActionResult:
    """Back into the review queue: a dismissed receipt, a duplicate, a quarantined one, a
    PEC receipt. A person's match is taken back only within its undo window (``undo``);
    a paid order is never silently unpaid."""
    actor, now = _actor(actor), ctx.clock()
    receipt = receipt_for_update(session, message_id)
    if receipt.status == UNMATCHED:
        return ActionResult(message_id, "requeue", UNMATCHED, note="already in the queue")
    if receipt.status in (MATCHED, SUPPORT):
        try:
            return undo(session, ctx, message_id, actor=actor)
        except Conflict as exc:
            raise Conflict(f"receipt {message_id} is {receipt.status}: its orders are paid and "
                           f"a paid order is never unpaid by a requeue ({exc.reason})",
                           "La ricevuta ha già pagato i suoi ordini: non torna in coda "
                           f"({exc.message_it})") from None
    if receipt.status not in REQUEUEABLE:
        raise Conflict(f"receipt {message_id} is {receipt.status}; it cannot be requeued",
                       f"La ricevuta è «{receipt.status}»: non può tornare in coda.")
    _bump(session, review_state(session, message_id, now), None, actor, now)
    _set_status(session, receipt, UNMATCHED, _queue_reason(session, receipt), actor,
                f"requeued by {_person(actor)} (was {receipt.status})")
    if receipt.duplicate_of_id is not None:
        audit.change(session, receipt, "duplicate_of_id", None, reason="requeued",
                     actor=actor)
    queue.refresh(session, message_id, queued_at=receipt.received_at)
    action = _record(session, receipt, "requeue", actor, now, None)
    return ActionResult(message_id, "requeue", UNMATCHED, action_id=action.id)


# --- request a proof or the missing code ----------------------------------------------------

def request_proof(session: Session, ctx: ReviewContext, message_id: int, what: str, *,
                  actor: str, note: str | None = None,
                  version: int | None = None) -> ActionResult:
    """Asks the sender for a readable proof or the missing code (Italian template), once per
    receipt and kind; the receipt stays in the queue, waiting for the answer."""
    actor, now = _actor(actor), ctx.clock()
    receipt = receipt_for_update(session, message_id)
    state = review_state(session, message_id, now)
    if version is not None and state.version != version:
        raise _conflict(session, state)
    try:
        mail = queue_proof_request(session, ctx.settings, receipt, what,
                                   note=(note or "").strip() or None)
    except NotAnswerable as exc:
        raise ReviewError(exc.reason, "Non si può scrivere al mittente: "
                          + exc.reason.split(": ", 2)[-1]) from None
    except ValueError as exc:
        raise ReviewError(str(exc)) from None
    if mail is None:
        raise Conflict(f"receipt {message_id}: this request was already sent",
                       "Questa richiesta è già stata inviata al cliente.")
    _bump(session, state, None, actor, now)
    action = _record(session, receipt, "request_" + what, actor, now, note,
                     details={"mail_id": mail.id, "to": mail.to_addr})
    audit.record(session, mail, "template", f"proof_request:{what}",
                 reason=f"receipt #{message_id}: requested by {_person(actor)}", actor=actor)
    return ActionResult(message_id, "request_" + what, receipt.status, action_id=action.id,
                        note=mail.to_addr)


def order_links(session: Session, message_id: int) -> list[ReceiptOrderRow]:
    return list(session.scalars(select(ReceiptOrderRow).where(
        ReceiptOrderRow.message_id == message_id)))
