"""The order book in the database: import, look-up by code, and the audited claim of a
pending order (the one place an order becomes paid)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from matching.orders import Order, OrderBook
from store import audit
from store.models import OrderRow

# Fields that may change on re-import only while the order is still pending: changing what is
# owed after it was paid would rewrite history.
_MONEY_FIELDS = ("amount", "years", "expiry_date")
_CONTACT_FIELDS = ("userid", "pec_address", "customer_name", "customer_email", "ordered_at")


@dataclass
class ImportResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def to_order(row: OrderRow) -> Order:
    return Order(code=row.code, userid=row.userid, pec_address=row.pec_address,
                 customer_name=row.customer_name, customer_email=row.customer_email,
                 amount=row.amount, expiry_date=row.expiry_date, years=row.years,
                 ordered_at=row.ordered_at, status=row.status, id=row.id)


def import_orders(session: Session, book: OrderBook, actor: str) -> ImportResult:
    result = ImportResult(rejected=[(r.line, r.reason) for r in book.rejected])
    codes = [order.code for _line, order in book.orders]
    existing = {row.code: row for row in
                session.scalars(select(OrderRow).where(OrderRow.code.in_(codes)))} \
        if codes else {}
    for line, order in book.orders:
        row = existing.get(order.code)
        if row is None:
            row = OrderRow(**{name: getattr(order, name) for name in
                              ("code",) + _MONEY_FIELDS + _CONTACT_FIELDS}, status="pending")
            session.add(row)
            audit.record(session, row, "status", "pending", reason=f"imported (line {line})",
                         actor=actor)
            result.inserted += 1
            continue
        changed = [n for n in _MONEY_FIELDS + _CONTACT_FIELDS
                   if getattr(row, n) != getattr(order, n)]
        money_changed = [n for n in changed if n in _MONEY_FIELDS]
        if money_changed and row.status != "pending":
            result.rejected.append((line, f"order {order.code} is {row.status}: "
                                          f"{', '.join(money_changed)} cannot change"))
            continue
        for name in changed:
            audit.change(session, row, name, getattr(order, name),
                         reason=f"re-imported (line {line})", actor=actor)
        if changed:
            result.updated += 1
        else:
            result.unchanged += 1
    return result


def orders_for_codes(session: Session, codes: Iterable[str]) -> dict[str, Order]:
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return {}
    rows = session.scalars(select(OrderRow).where(OrderRow.code.in_(wanted)))
    return {row.code: to_order(row) for row in rows}


class OrderNoLongerPending(Exception):
    """Another process changed the order between the decision and the claim."""


def mark_paid(session: Session, code: str, amount: Decimal, at: datetime, reason: str) -> OrderRow:
    """pending -> paid, guarded by a conditional UPDATE so two processes cannot both pay it."""
    result = session.execute(
        update(OrderRow).where(OrderRow.code == code, OrderRow.status == "pending")
        .values(status="paid", paid_amount=amount, paid_at=at, updated_at=at)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise OrderNoLongerPending(code)
    row = session.scalars(select(OrderRow).where(OrderRow.code == code)).one()
    session.refresh(row)
    for name, old, new in (("status", "pending", "paid"), ("paid_amount", None, amount),
                           ("paid_at", None, at)):
        audit.record_change(session, row, name, old, new, reason=reason)
    return row
