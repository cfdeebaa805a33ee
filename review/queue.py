"""The review queue: which receipts wait for a person, in what order, and the page of them.

Each unmatched receipt gets a ``receipt_reviews`` row the first time the queue is read after
it arrived (``sync``): its sort key (the earliest expiry among its pending candidate orders),
its reason's kind, its amount and method, and one lower-cased text to search. The queue page
is then a fixed number of indexed queries however many receipts wait (a test counts them).

Order: receipts whose mailbox lapses within ``[review] urgent_days`` (or has lapsed) first,
soonest expiry first; then the rest, oldest first.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, case, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import ExtractionRow, MatchDecisionRow, MessageRow, OrderRow
from store.reviews import ReceiptReviewRow

UNMATCHED = "unmatched"
METHODS = ("bonifico", "bollettino", "assegno", "carta", "unknown")  # CONTRACT.md's methods
SYNC_BATCH = 500

# reason kinds, in the order they are tested (the first that fits names the receipt)
REASON_KINDS: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (key, label, re.compile(pattern, re.I)) for key, label, pattern in (
        ("double_payment", "possibile doppio pagamento", r"double payment"),
        ("not_executed", "storno, rifiutato o non eseguito",
         r"negative amount|reversal or cancellation|refused transfer|not executed yet|"
         r"is not a payment"),
        ("amount_disagrees", "importo incoerente", r"disagree|printed with different values|"
                                                   r"does not give the amount|"
                                                   r"show different amounts"),
        ("no_bank_document", "nessun documento della banca", r"no bank document"),
        ("foreign_iban", "IBAN non nostro", r"which is not ours"),
        ("unreadable", "illeggibile o da OCR", r"need(s)? OCR|no readable|unreadable|"
                                               r"could not be read|no text"),
        ("no_code", "nessun codice", r"no order code|neither an order code|no code found"),
        ("uncertain_code", "codice incerto", r"may be misread|one-character slip|"
                                             r"another customer's order|several orders one"),
        ("unknown_code", "codice inesistente", r"no such order"),
        ("amount", "importo diverso", r"short of|more than|matches neither|no amount|"
                                      r"not equal|not EUR"),
        ("date", "data del pagamento incoerente", r"before order|is in the future"),
        ("doubtful", "documento dubbio", r"never paid automatically|is not a payment"),
        ("other", "altro", r""),
    ))
REASON_LABELS = {key: label for key, label, _ in REASON_KINDS}


def reason_kind(reason: str | None) -> str:
    text = reason or ""
    for key, _label, pattern in REASON_KINDS:
        if pattern.search(text):
            return key
    return "other"


# --- keeping the entries ------------------------------------------------------------------

def sync(session: Session) -> int:
    """Creates the entries of unmatched receipts that have none yet; returns how many.
    Plain rows in, plain INSERTs out (no ORM objects): 10,000 new receipts take a moment
    once, not every time."""
    missing = select(MessageRow.id).outerjoin(
        ReceiptReviewRow, ReceiptReviewRow.message_id == MessageRow.id).where(
        MessageRow.status == UNMATCHED, ReceiptReviewRow.message_id.is_(None)).order_by(
        MessageRow.id)
    ids = list(session.scalars(missing))
    for start in range(0, len(ids), SYNC_BATCH):
        rows = build_entries(session, ids[start:start + SYNC_BATCH])
        session.execute(insert(ReceiptReviewRow), rows)
    return len(ids)


def sync_safely(db) -> int:  # noqa: ANN001 (store.db.Database)
    """``sync`` in a transaction of its own: two processes indexing the same new receipts at
    once (two reviewers, the CLI) is no error: the one that commits first did the work."""
    try:
        with db.session() as session:
            return sync(session)
    except IntegrityError:
        return 0


def refresh(session: Session, message_id: int, queued_at: datetime | None = None) -> None:
    """Recomputes one receipt's entry (it came back to the queue), keeping its version."""
    row = session.get(ReceiptReviewRow, message_id)
    fresh = build_entries(session, [message_id])[0]
    if row is None:
        session.add(ReceiptReviewRow(**fresh))
        return
    for name in ("expiry_date", "reason_kind", "amount", "method", "top_candidate",
                 "search_text"):
        setattr(row, name, fresh[name])
    if queued_at is not None:
        row.queued_at = queued_at


def build_entries(session: Session, ids: list[int]) -> list[dict]:
    """Four queries for a batch: the receipts, their combined fields, their decisions'
    candidates, the candidate orders."""
    messages = {m.id: m for m in session.execute(select(
        MessageRow.id, MessageRow.received_at, MessageRow.sender, MessageRow.certified_sender,
        MessageRow.subject, MessageRow.reason, MessageRow.filename, MessageRow.source)
        .where(MessageRow.id.in_(ids)))}
    fields = {}
    for row in session.execute(select(
            ExtractionRow.message_id, ExtractionRow.codes, ExtractionRow.amount,
            ExtractionRow.method, ExtractionRow.payer, ExtractionRow.transfer_ref,
            ExtractionRow.iban).where(
            ExtractionRow.message_id.in_(ids), ExtractionRow.document_id.is_(None))
            .order_by(ExtractionRow.id)):
        fields[row.message_id] = row
    candidates: dict[int, list[str]] = {}
    for message_id, cands in session.execute(select(
            MatchDecisionRow.message_id, MatchDecisionRow.candidates).where(
            MatchDecisionRow.message_id.in_(ids)).order_by(MatchDecisionRow.id)):
        candidates[message_id] = [c["code"] for c in cands or [] if c.get("code")]
    codes = {c for cs in candidates.values() for c in cs}
    codes |= {c for f in fields.values() for c in (f.codes or [])}
    orders = {o.code: o for o in session.execute(select(
        OrderRow.code, OrderRow.status, OrderRow.expiry_date, OrderRow.customer_name,
        OrderRow.pec_address, OrderRow.customer_email).where(OrderRow.code.in_(sorted(codes))))
    } if codes else {}
    entries = []
    for message_id in ids:
        m = messages[message_id]
        f = fields.get(message_id)
        cand = [orders[c] for c in candidates.get(message_id, []) if c in orders]
        pending = [o for o in cand if o.status == "pending"]
        words = [m.sender, m.certified_sender, m.subject, m.filename, m.source,
                 f and f.payer, f and f.transfer_ref, f and f.iban,
                 f and f.amount is not None and _amount_texts(f.amount),
                 *(f.codes or [] if f else []),
                 *(x for o in cand for x in (o.code, o.customer_name, o.pec_address,
                                             o.customer_email))]
        entries.append(dict(
            message_id=message_id, version=1, queued_at=m.received_at,
            locked_by=None, locked_at=None, reviewed_by=None, reviewed_at=None,
            expiry_date=min((o.expiry_date for o in pending), default=None),
            reason_kind=reason_kind(m.reason),
            amount=f.amount if f else None, method=f.method if f else None,
            top_candidate=(pending[0].code if pending else cand[0].code if cand else None),
            search_text=" ".join(str(w) for w in words if w).lower()))
    return entries


def _amount_texts(amount: Decimal) -> str:
    """An amount as people type it: 10.89, 10,89."""
    plain = f"{amount:.2f}"
    return f"{plain} {plain.replace('.', ',')}"


# --- the page -----------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueFilters:
    reason: str | None = None
    source: str | None = None
    method: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    page: int = 1

    def query_string(self, **override: object) -> str:
        from urllib.parse import urlencode
        values = {"reason": self.reason, "source": self.source, "method": self.method,
                  "date_from": self.date_from, "date_to": self.date_to, "q": self.q,
                  "page": self.page}
        values.update(override)
        return urlencode({k: str(v) for k, v in values.items() if v not in (None, "", 1)
                          or (k == "page" and v not in (None, 1))})


@dataclass(frozen=True)
class QueueItem:
    id: int
    received_at: datetime
    source: str
    sender: str | None
    subject: str | None
    filename: str | None
    reason: str | None
    reason_kind: str
    reason_label: str
    amount: str | None
    method: str | None
    top_candidate: str | None
    expiry_date: date | None
    urgent: bool
    locked_by: str | None


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    total: int              # receipts matching the filters
    waiting: int            # the whole queue
    by_reason: list[tuple[str, str, int]]  # (kind, label, count) over the whole queue
    sources: list[str]
    methods: list[str]
    filters: QueueFilters
    page: int
    pages: int
    page_size: int
    oldest_at: datetime | None = None
    extra: dict = field(default_factory=dict)
    duplicates: int = 0     # receipts set aside as the same payment as a recorded one


def _conditions(filters: QueueFilters) -> list:
    conds = [MessageRow.status == UNMATCHED]
    if filters.reason:
        conds.append(ReceiptReviewRow.reason_kind == filters.reason)
    if filters.source:
        conds.append(MessageRow.source == filters.source)
    if filters.method:
        conds.append(ReceiptReviewRow.method == filters.method)
    if filters.date_from:
        conds.append(ReceiptReviewRow.queued_at >= _day_start(filters.date_from))
    if filters.date_to:
        conds.append(ReceiptReviewRow.queued_at < _day_start(filters.date_to + timedelta(1)))
    for term in (filters.q or "").lower().split()[:6]:
        conds.append(_term(term))
    return conds


def _term(term: str):  # noqa: ANN202 (a SQL clause)
    """One search word: anywhere in the search text; an amount also as a number."""
    like = ReceiptReviewRow.search_text.like(f"%{_escape_like(term)}%", escape="\\")
    try:
        amount = Decimal(term.replace("€", "").replace(",", "."))
    except InvalidOperation:
        return like
    return or_(like, ReceiptReviewRow.amount == amount) if amount.is_finite() else like


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _day_start(day: date) -> datetime:
    from datetime import UTC
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def queue_page(session: Session, filters: QueueFilters, *, today: date, page_size: int,
               urgent_days: int, sync_first: bool = True,
               sources: Sequence[str] = ()) -> QueuePage:
    """Three queries whatever the page size: counts by reason (and sources, methods), the
    filtered count, the page itself (and ``sync``'s one when nothing is new)."""
    if sync_first:
        sync(session)
    joined = and_(ReceiptReviewRow.message_id == MessageRow.id)
    cutoff = today + timedelta(days=urgent_days)
    urgent = case((ReceiptReviewRow.expiry_date <= cutoff, 0), else_=1)
    groups = session.execute(
        select(func.count(), ReceiptReviewRow.reason_kind, func.min(ReceiptReviewRow.queued_at))
        .select_from(MessageRow).join(ReceiptReviewRow, joined)
        .where(MessageRow.status == UNMATCHED).group_by(ReceiptReviewRow.reason_kind)).all()
    counts = {kind: n for n, kind, _oldest in groups}
    # duplicates leave the queue but stay counted: a false one is a payment nobody sees
    duplicates = session.scalar(select(func.count()).select_from(MessageRow).where(
        MessageRow.status == "duplicate")) or 0
    waiting = sum(counts.values())
    oldest = min((g[2] for g in groups if g[2] is not None), default=None)
    conds = _conditions(filters)
    if len(conds) == 1:  # no filter but the status: the whole queue, counted above
        total = waiting
    else:
        total = session.scalar(select(func.count()).select_from(MessageRow).join(
            ReceiptReviewRow, joined).where(*conds)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(filters.page, 1), pages)
    rows = session.execute(
        select(MessageRow.id, MessageRow.received_at, MessageRow.source, MessageRow.sender,
               MessageRow.subject, MessageRow.filename, MessageRow.reason,
               ReceiptReviewRow.reason_kind, ReceiptReviewRow.amount, ReceiptReviewRow.method,
               ReceiptReviewRow.top_candidate, ReceiptReviewRow.expiry_date,
               ReceiptReviewRow.locked_by, ReceiptReviewRow.locked_at)
        .select_from(MessageRow).join(ReceiptReviewRow, joined).where(*conds)
        .order_by(urgent, case((ReceiptReviewRow.expiry_date <= cutoff,
                                ReceiptReviewRow.expiry_date), else_=None),
                  ReceiptReviewRow.queued_at, MessageRow.id)
        .limit(page_size).offset((page - 1) * page_size)).all()
    items = [QueueItem(
        id=r.id, received_at=r.received_at, source=r.source, sender=r.sender,
        subject=r.subject, filename=r.filename, reason=r.reason, reason_kind=r.reason_kind,
        reason_label=REASON_LABELS.get(r.reason_kind, r.reason_kind),
        amount=None if r.amount is None else f"{r.amount:.2f}", method=r.method,
        top_candidate=r.top_candidate, expiry_date=r.expiry_date,
        urgent=r.expiry_date is not None and r.expiry_date <= cutoff,
        locked_by=r.locked_by) for r in rows]
    return QueuePage(
        items=items, total=total, waiting=waiting,
        by_reason=[(k, REASON_LABELS.get(k, k), n) for k, n in
                   sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))],
        sources=list(sources), methods=list(METHODS),
        filters=filters, page=page, pages=pages, page_size=page_size, oldest_at=oldest,
        duplicates=duplicates)


def neighbours(session: Session, message_id: int, *, today: date,
               urgent_days: int) -> tuple[int | None, int | None]:
    """The receipts before and after this one in the queue's order (for j/k): previous,
    next. Two keyset queries on the sort key, so the cost does not grow with the queue."""
    cutoff = today + timedelta(days=urgent_days)
    here = session.execute(select(ReceiptReviewRow.expiry_date, ReceiptReviewRow.queued_at,
                                  MessageRow.status).join(
        MessageRow, MessageRow.id == ReceiptReviewRow.message_id).where(
        ReceiptReviewRow.message_id == message_id)).first()
    ordered = _ordered_ids(today, urgent_days)
    if here is None or here.status != UNMATCHED:
        return None, session.scalar(ordered.limit(1))
    urgent = here.expiry_date is not None and here.expiry_date <= cutoff
    after = _beyond(urgent, here.expiry_date, here.queued_at, message_id, cutoff, later=True)
    before = _beyond(urgent, here.expiry_date, here.queued_at, message_id, cutoff, later=False)
    nxt = session.scalar(ordered.where(after).limit(1))
    prev = session.scalar(_ordered_ids(today, urgent_days, descending=True)
                          .where(before).limit(1))
    return prev, nxt


def _beyond(urgent: bool, expiry: date | None, queued_at: datetime, message_id: int,
            cutoff: date, *, later: bool):  # noqa: ANN202 (a SQL clause)
    """Rows after (or before) this one in the order (urgent first, by expiry; then by
    arrival, then id), written out so SQLite and PostgreSQL both use it."""
    def gt(column, value):  # noqa: ANN001, ANN202
        return column > value if later else column < value
    is_urgent = and_(ReceiptReviewRow.expiry_date.is_not(None),
                     ReceiptReviewRow.expiry_date <= cutoff)
    rest = or_(gt(ReceiptReviewRow.queued_at, queued_at),
               and_(ReceiptReviewRow.queued_at == queued_at, gt(MessageRow.id, message_id)))
    if urgent:
        same = or_(gt(ReceiptReviewRow.expiry_date, expiry),
                   and_(ReceiptReviewRow.expiry_date == expiry, rest))
        return or_(~is_urgent, and_(is_urgent, same)) if later else and_(is_urgent, same)
    same = and_(~is_urgent | ReceiptReviewRow.expiry_date.is_(None), rest)
    return same if later else or_(is_urgent, same)


def _ordered_ids(today: date, urgent_days: int, descending: bool = False):  # noqa: ANN202
    cutoff = today + timedelta(days=urgent_days)
    keys = [case((ReceiptReviewRow.expiry_date <= cutoff, 0), else_=1),
            case((ReceiptReviewRow.expiry_date <= cutoff, ReceiptReviewRow.expiry_date),
                 else_=None),
            ReceiptReviewRow.queued_at, MessageRow.id]
    return (select(MessageRow.id).join(ReceiptReviewRow,
                                       ReceiptReviewRow.message_id == MessageRow.id)
            .where(MessageRow.status == UNMATCHED)
            .order_by(*(k.desc() if descending else k for k in keys)))


def next_in_queue(session: Session, after_id: int | None, *, today: date,
                  urgent_days: int, skip: set[int] | None = None) -> int | None:
    """The first receipt of the queue other than ``after_id`` (and those in ``skip``)."""
    skip = (skip or set()) | ({after_id} if after_id else set())
    for message_id in session.scalars(_ordered_ids(today, urgent_days).limit(len(skip) + 1)):
        if message_id not in skip:
            return message_id
    return None
