"""Candidate orders for a receipt, each with its evidence, for the reviewer to choose from.

The automatic decision's candidates (codes read, codes one character away, the sender's
orders) are assessed again against the order book as it is now, with ``matching.signals``;
a receipt without a usable code also gets the pending orders of its amount whose customer's
name resembles the payer or whose email domain is the sender's, and the pending orders of
customers whose IBAN paid an earlier, confirmed receipt. Each candidate carries evidence
items (what fits, what does not), never a bare score.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.fields import CodeCandidate, PaymentFields
from matching.orders import Order
from matching.signals import (
    EQUAL,
    EXACT,
    NEAR,
    OVER,
    SHORT,
    SHORT_TOLERATED,
    WEAK,
    Assessment,
    assess,
    code_reads,
    euro,
    normalise_name,
)
from store.models import ExtractionRow, MessageRow, OrderRow, ReceiptOrderRow
from store.orderbook import candidate_orders, to_order

MAX_SHOWN = 9   # keys 1-9 pick one
SAME_AMOUNT_LIMIT = 200
NAME_RESEMBLES = 80
# shared mail domains say nothing about who the customer is
PUBLIC_DOMAINS = {"gmail.com", "libero.it", "hotmail.com", "hotmail.it", "outlook.com",
                  "outlook.it", "yahoo.com", "yahoo.it", "virgilio.it", "alice.it", "tim.it",
                  "tiscali.it", "icloud.com", "live.it", "live.com", "fastwebnet.it",
                  "pec.it", "legalmail.it", "arubapec.it", "postacert.it", "pec.net",
                  "example.it", "example.com", "email.it", "inwind.it", "tin.it"}


@dataclass(frozen=True)
class Evidence:
    kind: str      # "code", "amount", "sender", "payer", "iban", "date", "status"
    good: bool | None   # True fits, False speaks against, None neutral
    text: str      # Italian, for the reviewer


@dataclass(frozen=True)
class CandidateView:
    code: str
    customer_name: str
    customer_email: str
    pec_address: str
    userid: str
    amount: str
    status: str
    expiry_date: date
    years: int
    score: float
    evidence: list[Evidence]
    found_by: str   # why it is listed: "codice", "mittente", "importo e nome", "IBAN"

    @property
    def pending(self) -> bool:
        return self.status == "pending"


def fields_of(extraction: ExtractionRow | None, code_reads_input: list[dict]) -> PaymentFields:
    if extraction is None:
        return PaymentFields()
    reads = {r["code"]: r for r in code_reads_input or []}
    return PaymentFields(
        codes=list(extraction.codes or []),
        code_candidates=[CodeCandidate(c, float(reads[c].get("confidence", 1.0)),
                                       reads[c].get("raw") or c, bool(reads[c].get("repaired")))
                         for c in extraction.codes or [] if c in reads],
        amount=extraction.amount, currency=extraction.currency, iban=extraction.iban,
        transfer_ref=extraction.transfer_ref, payment_date=extraction.payment_date,
        payer=extraction.payer, method=extraction.method)


def candidates_for(session: Session, receipt: MessageRow, fields: PaymentFields,
                   text_source: str | None, senders: list[str],
                   decision_codes: list[str], tolerance: Decimal) -> list[CandidateView]:
    found_by: dict[str, str] = {}
    orders = candidate_orders(session, fields.codes, senders, None)
    for code, order in orders.items():
        found_by[code] = "codice" if any(code == c for c in fields.codes) else \
            "mittente" if _sender_is(order, senders) else "codice simile"
    extra = [c for c in decision_codes if c not in orders]
    if extra:
        for row in session.scalars(select(OrderRow).where(OrderRow.code.in_(extra))):
            orders[row.code] = to_order(row)
            found_by.setdefault(row.code, "decisione")
    iban_customers: set[str] = set()
    if not any(code in orders and orders[code].status == "pending" for code in fields.codes):
        for order in _same_amount_resembling(session, fields, senders):
            orders.setdefault(order.code, order)
            found_by.setdefault(order.code, "importo e nome")
        for order, email in _paid_before_by_iban(session, receipt.id, fields.iban):
            iban_customers.add(email)
            orders.setdefault(order.code, order)
            found_by.setdefault(order.code, "IBAN")
    reads = code_reads(fields, text_source)
    views = []
    for order in orders.values():
        a = assess(order, reads, fields, senders, tolerance)
        iban_paid = order.customer_email.lower() in iban_customers
        score = a.score + (0.1 if iban_paid else 0.0) + _resemblance_bonus(order, fields,
                                                                           senders)
        views.append(_view(a, fields, senders, iban_paid, round(score, 3),
                           found_by.get(order.code, "")))
    views.sort(key=lambda v: (not v.pending, -v.score, v.code))
    return views[:MAX_SHOWN]


def _sender_is(order: Order, senders: list[str]) -> bool:
    own = {order.customer_email.lower(), order.pec_address.lower()}
    return any(s.lower() in own for s in senders)


def _domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].lower().strip(">")


def _resembles(name: str | None, customer: str) -> bool:
    if not name:
        return False
    a, b = normalise_name(name), normalise_name(customer)
    return bool(a and b) and fuzz.token_set_ratio(a, b) >= NAME_RESEMBLES


def _resemblance_bonus(order: Order, fields: PaymentFields, senders: list[str]) -> float:
    bonus = 0.0
    if _resembles(fields.payer, order.customer_name):
        bonus += 0.05
    domains = {_domain(s) for s in senders} - PUBLIC_DOMAINS - {None}
    if domains & {_domain(order.customer_email), _domain(order.pec_address)}:
        bonus += 0.05
    return bonus


def _same_amount_resembling(session: Session, fields: PaymentFields,
                            senders: list[str]) -> list[Order]:
    """Pending orders of exactly the amount paid whose customer's name resembles the payer,
    or whose email domain is the sender's own (not a public one)."""
    if fields.amount is None:
        return []
    rows = session.scalars(select(OrderRow).where(
        OrderRow.status == "pending", OrderRow.amount == fields.amount)
        .order_by(OrderRow.expiry_date).limit(SAME_AMOUNT_LIMIT))
    domains = {_domain(s) for s in senders} - PUBLIC_DOMAINS - {None}
    out = []
    for row in rows:
        if _resembles(fields.payer, row.customer_name) or (domains and domains & {
                _domain(row.customer_email), _domain(row.pec_address)}):
            out.append(to_order(row))
    return out


def _paid_before_by_iban(session: Session, receipt_id: int,
                         iban: str | None) -> list[tuple[Order, str]]:
    """The payer's IBAN on an earlier matched receipt: that customer's pending orders."""
    if not iban:
        return []
    emails = set(session.scalars(
        select(OrderRow.customer_email).join(ReceiptOrderRow,
                                             ReceiptOrderRow.order_id == OrderRow.id)
        .join(MessageRow, MessageRow.id == ReceiptOrderRow.message_id)
        .join(ExtractionRow, ExtractionRow.message_id == MessageRow.id)
        .where(ExtractionRow.iban == iban, ExtractionRow.document_id.is_(None),
               MessageRow.id != receipt_id, MessageRow.status.in_(("matched", "support")))
        .limit(20)))
    if not emails:
        return []
    rows = session.scalars(select(OrderRow).where(OrderRow.customer_email.in_(sorted(emails)),
                                                  OrderRow.status == "pending").limit(20))
    return [(to_order(r), r.customer_email.lower()) for r in rows]


def _view(a: Assessment, fields: PaymentFields, senders: list[str], iban_paid: bool,
          score: float, found_by: str) -> CandidateView:
    o, s = a.order, a.signals
    ev: list[Evidence] = []
    read = s.read
    if s.link == EXACT:
        ev.append(Evidence("code", True, f"codice {o.code} letto"))
    elif s.link == WEAK and read is not None:
        how = "corretto dopo OCR" if read.repaired else "letto da OCR" if read.ocr \
            else f"letto con confidenza {read.confidence:.2f}"
        ev.append(Evidence("code", True, f"codice {o.code} {how} (da «{read.raw}»)"))
    elif s.link == NEAR and read is not None:
        ev.append(Evidence("code", None, f"a un carattere dal codice letto {read.code}"))
    else:
        ev.append(Evidence("code", None, "nessun codice lo nomina"))
    if fields.amount is None:
        ev.append(Evidence("amount", None, f"importo non letto (dovuto {euro(o.amount)})"))
    elif s.amount == EQUAL:
        ev.append(Evidence("amount", True, f"importo {euro(fields.amount)} uguale"))
    elif s.amount == OVER:
        ev.append(Evidence("amount", False, f"importo {euro(fields.amount)}: "
                                            f"{euro(-s.gap)} in più di {euro(o.amount)}"))
    elif s.amount in (SHORT, SHORT_TOLERATED):
        ev.append(Evidence("amount", False if s.amount == SHORT else None,
                           f"importo {euro(fields.amount)}: mancano {euro(s.gap)} "
                           f"su {euro(o.amount)}"))
    if s.email:
        ev.append(Evidence("sender", True, "il mittente è l'indirizzo del cliente"))
    elif senders:
        domains = {_domain(x) for x in senders} - PUBLIC_DOMAINS - {None}
        if domains & {_domain(o.customer_email), _domain(o.pec_address)}:
            ev.append(Evidence("sender", True, "mittente dello stesso dominio del cliente"))
        else:
            ev.append(Evidence("sender", False, "il mittente non è il cliente"))
    if fields.payer:
        if s.name:
            ev.append(Evidence("payer", True, f"ordinante «{fields.payer}» = cliente"))
        elif _resembles(fields.payer, o.customer_name):
            ev.append(Evidence("payer", None, f"ordinante «{fields.payer}» somiglia al cliente"))
        else:
            ev.append(Evidence("payer", False, f"ordinante «{fields.payer}» non è il cliente"))
    if iban_paid:
        ev.append(Evidence("iban", True, f"l'IBAN {fields.iban} ha già pagato questo cliente"))
    if s.before_order:
        ev.append(Evidence("date", False, f"pagato il {fields.payment_date:%d/%m/%Y}, prima "
                                          f"dell'ordine ({o.ordered_at:%d/%m/%Y})"))
    elif fields.payment_date and o.ordered_at:
        ev.append(Evidence("date", True, f"pagato il {fields.payment_date:%d/%m/%Y}, dopo "
                                         f"l'ordine ({o.ordered_at:%d/%m/%Y})"))
    if not s.pending:
        ev.append(Evidence("status", False, f"l'ordine è già {o.status}"))
    return CandidateView(
        code=o.code, customer_name=o.customer_name, customer_email=o.customer_email,
        pec_address=o.pec_address, userid=o.userid, amount=f"{o.amount:.2f}",
        status=o.status, expiry_date=o.expiry_date, years=o.years, score=score,
        evidence=ev, found_by=found_by)
