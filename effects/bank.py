"""A proof and the bank's line of the same payment, joined: whoever decided the proof (the
daemon, a person in the review UI), the unmatched statement lines with its CRO/TRN and amount
become its bank confirmation; a person's match undone takes them back."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from matching.signals import euro
from store import audit
from store import statements as store
from store.models import MessageRow, OrderRow
from store.statement_models import CONFIRMED, UNMATCHED, StatementLineOrderRow, StatementLineRow

MATCHED_LINE = "matched"


def on_our_account(line: StatementLineRow, our_ibans: Sequence[str]) -> bool:
    """A line of one of our accounts (or of an export that names none, BancoPosta's)."""
    return not is_iban(line.account) or line.account in our_ibans


def is_iban(account: str) -> bool:
    return len(account) >= 15 and account[:2].isalpha() and account[2:4].isdigit()


def join_lines(session: Session, receipt: MessageRow, transfer_ref: str | None,
               amount: Decimal | None, order_codes: Sequence[str], now: datetime,
               our_ibans: Sequence[str], *, actor: str = audit.DAEMON) -> list[int]:
    """The unmatched credit lines with the proof's reference and amount confirm the orders
    it paid; returns their ids."""
    joined = []
    orders = list(session.scalars(select(OrderRow).where(OrderRow.code.in_(order_codes))))
    for line in store.lines_with_reference(session, transfer_ref, amount):
        if line.status != UNMATCHED or not on_our_account(line, our_ibans):
            continue
        reason = (f"joined to receipt #{receipt.id}: same reference {transfer_ref} and "
                  f"amount {euro(line.amount)}")
        for row in orders:
            store.link(session, line, row, CONFIRMED, None, reason)
        line.message_id = receipt.id
        line.decided_at = now
        audit.change(session, line, "status", MATCHED_LINE, reason=reason, actor=actor)
        line.reason = reason
        joined.append(line.id)
    return joined


def unjoin_lines(session: Session, line_ids: Sequence[int], *, actor: str,
                 reason: str) -> None:
    """Lines ``join_lines`` joined to a match now undone: unmatched again, unlinked."""
    for line in session.scalars(select(StatementLineRow).where(
            StatementLineRow.id.in_(list(line_ids)))):
        if line.status != MATCHED_LINE:
            continue
        session.execute(delete(StatementLineOrderRow).where(
            StatementLineOrderRow.line_id == line.id, StatementLineOrderRow.role == CONFIRMED))
        line.message_id = None
        line.decided_at = None
        audit.change(session, line, "status", UNMATCHED, reason=reason, actor=actor)
        line.reason = reason
