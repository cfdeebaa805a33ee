"""What the review UI shows of bank statements: the unmatched credit lines, a queue of
their own (money that arrived and that no order could be given), and, for an order, its
proofs and its statement lines side by side."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.status import StatementLineStatus
from store.models import ExtractionRow, MessageRow, OrderRow, ReceiptOrderRow
from store.statement_models import StatementFileRow, StatementLineOrderRow, StatementLineRow

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
