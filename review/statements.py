"""What the review UI shows of bank statements: the unmatched credit lines, a queue of
their own (money that arrived and that no order could be given), and, for an order, its
proofs and its statement lines side by side."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import effects
from config.settings import Settings
from core.status import StatementLineStatus
from matching.renewal import support_reason
from matching.signals import euro
from review.errors import Conflict, NotFound, ReviewError
from store import audit
from store import statements as bank_store
from store.models import ExtractionRow, MessageRow, OrderRow, ReceiptOrderRow
from store.orderbook import to_order
from store.statement_models import (
    PAID,
    StatementFileRow,
    StatementLineOrderRow,
    StatementLineRow,
)

ROLE_LABELS = {"paid": "ha pagato l'ordine", "confirmed": "conferma il pagamento"}


@dataclass(frozen=True)
class LineView:
    id: int
    booking_date: date
    amount: str
    payer: str | None
    reference: str | None
    remittance: str
    status: str
    reason: str | None
    file: str | None
    receipt_id: int | None
    candidates: list[dict] = field(default_factory=list)
    role: str | None = None


@dataclass(frozen=True)
class BankQueueView:
    lines: list[LineView]
    total: int
    total_amount: str


@dataclass(frozen=True)
class ProofView:
    id: int
    status: str
    amount: str | None
    transfer_ref: str | None
    payment_date: date | None
    payer: str | None
    sender: str | None


def _line(row: StatementLineRow, files: dict[int, str], role: str | None = None) -> LineView:
    decision = row.decision or {}
    return LineView(row.id, row.booking_date, f"{row.amount:.2f}", row.payer, row.reference,
                    row.remittance, row.status, row.reason, files.get(row.file_id),
                    row.message_id, list(decision.get("candidates", []))[:5], role)


def _files(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(StatementFileRow.id, StatementFileRow.filename)
                                .where(StatementFileRow.id.in_(ids))).all())


def bank_queue(session: Session, limit: int = 200) -> BankQueueView:
    """Unmatched credit lines, oldest first: each waits for a person."""
    unmatched = (StatementLineRow.status == StatementLineStatus.UNMATCHED) & \
        (StatementLineRow.direction == "credit")
    rows = list(session.scalars(select(StatementLineRow).where(unmatched)
                                .order_by(StatementLineRow.booking_date, StatementLineRow.id)
                                .limit(limit)))
    total, amount = session.execute(select(func.count(), func.sum(StatementLineRow.amount))
                                    .where(unmatched)).one()
    files = _files(session, {r.file_id for r in rows})
    return BankQueueView([_line(r, files) for r in rows], total,
                         f"{Decimal(amount or 0):.2f}")


@dataclass(frozen=True)
class OrderBankView:
    """An order's proofs of payment and the bank's lines for it, to read side by side."""

    proofs: list[ProofView]
    lines: list[LineView]
    bank_confirmed: bool | None


def order_bank(session: Session, order: OrderRow) -> OrderBankView:
    links = list(session.scalars(select(StatementLineOrderRow).where(
        StatementLineOrderRow.order_id == order.id).order_by(StatementLineOrderRow.id)))
    lines = [session.get(StatementLineRow, link.line_id) for link in links]
    files = _files(session, {line.file_id for line in lines})
    proof_ids = [m for (m,) in session.execute(select(ReceiptOrderRow.message_id).where(
        ReceiptOrderRow.order_id == order.id))]
    # a proof recognised as the payment a line made is linked to the line, not the order
    proof_ids += [line.message_id for line in lines
                  if line.message_id and line.message_id not in proof_ids]
    proofs = []
    for message_id in proof_ids:
        message = session.get(MessageRow, message_id)
        extraction = session.scalars(select(ExtractionRow).where(
            ExtractionRow.message_id == message_id, ExtractionRow.document_id.is_(None))
            .order_by(ExtractionRow.id.desc())).first()
        proofs.append(ProofView(
            message_id, message.status,
            f"{extraction.amount:.2f}" if extraction and extraction.amount is not None
            else None, extraction.transfer_ref if extraction else None,
            extraction.payment_date if extraction else None,
            extraction.payer if extraction else None, message.sender))
    any_file = session.scalar(select(func.count()).select_from(StatementFileRow).where(
        StatementFileRow.status == "imported"))
    return OrderBankView(proofs, [_line(line, files, link.role)
                                  for line, link in zip(lines, links)],
                         bool(lines) if any_file else None)


# --- a person's decision on a line ---------------------------------------------------------

def _pending_line(session: Session, line_id: int) -> StatementLineRow:
    line = session.get(StatementLineRow, line_id)
    if line is None or line.direction != "credit":
        raise NotFound(f"no credit line {line_id}", "Movimento inesistente.")
    if line.status != StatementLineStatus.UNMATCHED:
        raise Conflict(f"line {line_id} is {line.status}, not unmatched",
                       f"Il movimento è già «{line.status}»: nessuna modifica.")
    return line


def match_line(session: Session, settings: Settings, clock: Callable[[], datetime],
               line_id: int, codes: list[str], *, actor: str, reason: str | None = None,
               confirmed: bool = False) -> list[str]:
    """A person decides that the bank's line paid ``codes``: the same effects as any payment
    (``effects.settle_order``: paid or sales support, renewal job, mail), keyed by the line so
    it never pays twice; the line ``matched``. An amount that is not what the orders cost
    needs ``confirmed``."""
    line = _pending_line(session, line_id)
    codes = list(dict.fromkeys(c.strip().upper().replace(" ", "") for c in codes if c.strip()))
    if not codes:
        raise ReviewError("no order code given", "Indica almeno un codice d'ordine.")
    rows = list(session.scalars(select(OrderRow).where(OrderRow.code.in_(codes))))
    missing = sorted(set(codes) - {r.code for r in rows})
    if missing:
        raise NotFound(f"no order {', '.join(missing)}",
                       f"Ordine inesistente: {', '.join(missing)}.")
    not_pending = [r.code for r in rows if r.status != "pending"]
    if not_pending:
        raise Conflict(f"order(s) {', '.join(not_pending)} not pending",
                       f"Ordine già {rows[0].status}: {', '.join(not_pending)}.")
    due = sum((r.amount for r in rows), Decimal("0.00"))
    if due != line.amount and not confirmed:
        raise Conflict(f"line of {line.amount} for orders costing {due}: confirm",
                       f"Il movimento è di € {euro(line.amount)}, gli ordini costano "
                       f"€ {euro(due)}: conferma per abbinare comunque.")
    who = actor if actor.startswith("person:") else f"person:{actor}"
    why = f"statement line #{line.id} matched by {who.split(':', 1)[1]}" + \
        (f": {reason}" if reason else "") + \
        (f" (paid {line.amount}, due {due})" if due != line.amount else "")
    with session.begin_nested():
        for row in sorted(rows, key=lambda r: r.code):
            paid = line.amount if len(rows) == 1 else row.amount
            # the renewal rules judge the customer on the day the bank booked the money
            support = support_reason(to_order(row), line.booking_date)
            common = dict(settings=settings, clock=clock, actor=who, reason=why,
                          evidence_key=f"line-{line.id}", receipt_id=None)
            try:
                if support is None:
                    order = effects.pay_order(session, row.code, paid, **common)
                else:
                    order = effects.route_to_support(session, row.code, paid, support,
                                                     **common)
            except effects.OrderNoLongerPending:
                raise Conflict(f"order {row.code} was paid meanwhile",
                               f"L'ordine {row.code} è stato pagato nel frattempo.") from None
            bank_store.link(session, line, order, PAID, paid, why)
    audit.change(session, line, "status", StatementLineStatus.MATCHED, reason=why, actor=who)
    line.reason = why
    line.decided_at = clock()
    return sorted(codes)


def dismiss_line(session: Session, clock: Callable[[], datetime], line_id: int, *,
                 actor: str, reason: str) -> None:
    """Not a customer's payment (a refund, a transfer between our accounts): ``ignored``."""
    if not reason.strip():
        raise ReviewError("a reason is required", "Scrivi perché il movimento non è un "
                                                  "pagamento.")
    line = _pending_line(session, line_id)
    who = actor if actor.startswith("person:") else f"person:{actor}"
    why = f"dismissed by {who.split(':', 1)[1]}: {reason.strip()}"
    audit.change(session, line, "status", StatementLineStatus.IGNORED, reason=why, actor=who)
    line.reason = why
    line.decided_at = clock()
