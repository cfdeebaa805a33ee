"""The order book in the database: import, indexed look-ups for matching (by code, by the
codes one edit away, by the sender's address), and the audited claims of a pending order:
``mark_paid`` (the one place an order becomes paid) and ``route_to_support``."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from core.status import OrderStatus
from matching.codes import near_codes
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
                              ("code",) + _MONEY_FIELDS + _CONTACT_FIELDS},
                           status=OrderStatus.PENDING)
            session.add(row)
            audit.record(session, row, "status", OrderStatus.PENDING,
                         reason=f"imported (line {line})", actor=actor)
            result.inserted += 1
            continue
        changed = [n for n in _MONEY_FIELDS + _CONTACT_FIELDS
                   if getattr(row, n) != getattr(order, n)]
        money_changed = [n for n in changed if n in _MONEY_FIELDS]
        if money_changed and row.status != OrderStatus.PENDING:
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


# the columns of an ``Order``: matching reads plain rows, not ORM objects, so a receipt
# with a hundred candidate orders costs no more than a few hundred microseconds
_ORDER_COLUMNS = tuple(getattr(OrderRow, name) for name in (
    "id", "code", "userid", "pec_address", "customer_name", "customer_email", "amount",
    "expiry_date", "years", "ordered_at", "status"))


_BY_CODES = select(*_ORDER_COLUMNS).where(OrderRow.code.in_(bindparam("codes", expanding=True)))
# a neighbour that is no longer pending can neither be meant nor be mistaken for
_NEIGHBOURS = _BY_CODES.where(OrderRow.status == OrderStatus.PENDING)
_NEIGHBOURS_OF_AMOUNT = _NEIGHBOURS.where(OrderRow.amount == bindparam("amount"))


# the codes read and their neighbours in one statement (one round trip); SQLite answers the
# OR with one index search per code
_CANDIDATES = select(*_ORDER_COLUMNS).where(or_(
    OrderRow.code.in_(bindparam("read", expanding=True)),
    and_(OrderRow.code.in_(bindparam("codes", expanding=True)),
         OrderRow.status == OrderStatus.PENDING)))
_CANDIDATES_OF_AMOUNT = select(*_ORDER_COLUMNS).where(or_(
    OrderRow.code.in_(bindparam("read", expanding=True)),
    and_(OrderRow.code.in_(bindparam("codes", expanding=True)),
         OrderRow.status == OrderStatus.PENDING, OrderRow.amount == bindparam("amount"))))
MAX_PARAMETERS = 900  # under the 999 bound parameters of older SQLite builds


def _orders(session: Session, query: Select, params: dict | None = None) -> dict[str, Order]:
    # Core rows on the session's connection: no ORM objects, no ORM statement compilation
    rows = session.connection().execute(query, params)
    return {row.code: Order(**row._mapping) for row in rows}


def orders_for_codes(session: Session, codes: Iterable[str]) -> dict[str, Order]:
    wanted = list(dict.fromkeys(codes))
    found: dict[str, Order] = {}
    # chunks keep every statement under the bound-parameter limits of older SQLite builds;
    # one prepared statement with an expanding parameter: no per-code statement building
    for start in range(0, len(wanted), 500):
        found.update(_orders(session, _BY_CODES, {"codes": wanted[start:start + 500]}))
    return found


# at most this many orders are considered for one sender address (a firm's shared address)
SENDER_ORDERS_LIMIT = 50


def candidate_orders(session: Session, codes: Iterable[str],
                     senders: Iterable[str | None] = (),
                     neighbour_amount: Decimal | None = None) -> dict[str, Order]:
    """Every order a receipt may be for: those named by a code read (whatever their status),
    the pending ones one edit away from a code read (generated from the code, so the cost
    does not grow with the book; only those costing ``neighbour_amount`` when given, see
    ``matching.decide.neighbour_amount``), and those of a sender address (customer email or
    PEC address). Indexed look-ups only."""
    read = list(dict.fromkeys(codes))
    near: set[str] = set()
    for code in read:
        near |= near_codes(code)
    wanted = sorted(near - set(read))
    found: dict[str, Order] = {}
    if read and len(read) + len(wanted) <= MAX_PARAMETERS:
        query = _CANDIDATES if neighbour_amount is None else _CANDIDATES_OF_AMOUNT
        found.update(_orders(session, query, {"read": read, "codes": wanted,
                                              "amount": neighbour_amount}))
    elif read:  # very many codes read: in chunks
        found.update(orders_for_codes(session, read))
        query = _NEIGHBOURS if neighbour_amount is None else _NEIGHBOURS_OF_AMOUNT
        for start in range(0, len(wanted), 500):
            found.update(_orders(session, query, {"codes": wanted[start:start + 500],
                                                  "amount": neighbour_amount}))
    found.update(orders_for_senders(session, senders))
    return found


def orders_for_senders(session: Session, senders: Iterable[str | None]) -> dict[str, Order]:
    addresses = sorted({s.strip().lower() for s in senders if s and s.strip()})
    if not addresses:
        return {}
    query = (select(*_ORDER_COLUMNS).where(or_(OrderRow.customer_email.in_(addresses),
                                               OrderRow.pec_address.in_(addresses)))
             .order_by(OrderRow.id.desc()).limit(SENDER_ORDERS_LIMIT))
    return _orders(session, query)


def orders_for_mailboxes(session: Session, mailboxes: Iterable[str]) -> dict[str, Order]:
    """Orders of a mailbox written on a receipt: its PEC address or its userid (both compared
    lower-cased; ``ix_orders_userid_lower`` serves the userid)."""
    wanted = sorted({m.strip().lower() for m in mailboxes if m and m.strip()})[:20]
    if not wanted:
        return {}
    query = (select(*_ORDER_COLUMNS).where(or_(OrderRow.pec_address.in_(wanted),
                                               func.lower(OrderRow.userid).in_(wanted)))
             .order_by(OrderRow.id.desc()).limit(SENDER_ORDERS_LIMIT))
    return _orders(session, query)


class OrderNoLongerPending(Exception):
    """Another process changed the order between the decision and the claim."""


def _claim_pending(session: Session, code: str, values: dict, at: datetime,
                   reason: str, actor: str = audit.DAEMON) -> OrderRow:
    """pending -> ``values``, as one conditional UPDATE so two processes cannot both claim
    the order; every changed field is audited."""
    result = session.execute(
        update(OrderRow).where(OrderRow.code == code, OrderRow.status == OrderStatus.PENDING)
        .values(**values, updated_at=at)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise OrderNoLongerPending(code)
    row = session.scalars(select(OrderRow).where(OrderRow.code == code)).one()
    session.refresh(row)
    for name, new in values.items():
        old = OrderStatus.PENDING if name == "status" else None
        audit.record_change(session, row, name, old, new, reason=reason, actor=actor)
    return row


def mark_paid(session: Session, code: str, amount: Decimal, at: datetime, reason: str,
              actor: str = audit.DAEMON) -> OrderRow:
    """pending -> paid, guarded so two processes cannot both pay it."""
    return _claim_pending(session, code, {"status": OrderStatus.PAID, "paid_amount": amount,
                                          "paid_at": at}, at, reason, actor)


def route_to_support(session: Session, code: str, amount: Decimal, at: datetime,
                     reason: str, why: str, actor: str = audit.DAEMON) -> OrderRow:
    """pending -> support: the payment is recorded, but the online procedure cannot renew
    this mailbox (matching.rules), so no renewal is queued; ``why`` is the status reason.
    Guarded like ``mark_paid``."""
    return _claim_pending(session, code, {"status": OrderStatus.SUPPORT, "status_reason": why,
                                          "paid_amount": amount, "paid_at": at}, at, reason,
                          actor)


def flag_order(session: Session, code: str, flag: str, reason: str,
               actor: str = audit.DAEMON) -> None:
    """Puts a flag for a person on the order (refund review, double payment review...),
    audited; the order's status is unaffected."""
    row = session.scalars(select(OrderRow).where(OrderRow.code == code)).one_or_none()
    if row is None:
        return
    audit.change(session, row, "review_flag", flag, reason=reason, actor=actor)
    audit.change(session, row, "review_reason", reason, reason=reason, actor=actor)
