"""Bank statements through the product: file -> lines -> decision -> effects.

``import_statement`` keeps the original, parses it (``intake.statements``), records the new
lines (``store.statements``: a re-import or an overlapping statement adds nothing) and
settles each new credit line in the same transaction:

1. a line whose bank reference is a recorded proof's CRO/TRN (same amount) confirms the
   payment that proof made (the strongest evidence there is), whatever its causale says;
   a proof waiting for the bank (``paid_on = "statement"``) lends the line its order codes;
2. a line whose causale names an order a proof already paid, for that amount, confirms it;
3. otherwise the line goes through the same decision engine as a receipt
   (``matching.decide``), its causale read for the RLM code, its payer's name as the only
   corroboration, and, when it unambiguously pays pending orders, pays them through the
   same effects as any payment, once; a proof that waited for it is joined to it.

The pipeline calls back here so that a proof arriving after its line is recognised as the
same payment (``prior_line``), waits for the bank under ``paid_on = "statement"``
(``gate``), and links the line it matches (``join_lines``). ``flag_unconfirmed`` flags the
orders a proof paid that no line confirmed within ``statement_grace_days`` business days
(``paid_on = "proof_then_statement"``).
"""
from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import holidays
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import effects
from config.settings import Settings
from core.errors import BadDocument
from core.status import ReceiptStatus, ReviewFlag
from effects import bank as bank_effects
from intake.fields import PaymentFields, find_codes
from intake.reading import BANK_DOCUMENT
from intake.statements import ParsedStatement, parse_statement
from matching.decide import (
    MATCHED,
    PAID_STATUSES,
    SUPPORT,
    MatchDecision,
    PriorReceipt,
    decide,
    euro,
    neighbour_amount,
)
from store import audit
from store import statements as store
from store.db import Database
from store.models import (
    ExtractionRow,
    MatchDecisionRow,
    MessageRow,
    OrderRow,
    ReceiptOrderRow,
)
from store.orderbook import OrderNoLongerPending, candidate_orders, orders_for_codes
from store.originals import OriginalStore
from store.statement_models import (
    CONFIRMED,
    IGNORED,
    PAID,
    UNMATCHED,
    StatementFileRow,
    StatementLineOrderRow,
    StatementLineRow,
)

log = logging.getLogger("pec_intake.statements")

AWAITING_BANK = ReceiptStatus.AWAITING_BANK
UNCONFIRMED_BY_BANK = ReviewFlag.UNCONFIRMED_BY_BANK
RECORDED = (MATCHED, SUPPORT)
TEXT_SOURCE = "statement"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class FileReport:
    name: str
    label: str | None = None
    read: int = 0
    new: int = 0
    known: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    refused: str | None = None
    outcomes: Counter = field(default_factory=Counter)
    file_known: bool = False


# --- import ---------------------------------------------------------------------------------

def import_statement(settings: Settings, db: Database, data: bytes, filename: str, *,
                     clock: Callable[[], datetime] = utcnow,
                     actor: str = "import") -> FileReport:
    report = FileReport(filename)
    OriginalStore(settings.originals_dir).put(data)  # kept whatever becomes of it
    sha256 = hashlib.sha256(data).hexdigest()
    parsed: ParsedStatement | None = None
    try:
        parsed = parse_statement(data)
    except BadDocument as exc:
        report.refused = exc.reason
    try:
        return _record(settings, db, report, sha256, data, filename, parsed, clock(), actor)
    except IntegrityError:
        # another import recorded this file or these lines first: what it committed is the
        # truth; recorded again, its lines are known
        return _record(settings, db, FileReport(filename, refused=report.refused), sha256,
                       data, filename, parsed, clock(), actor)


def _record(settings: Settings, db: Database, report: FileReport, sha256: str, data: bytes,
            filename: str, parsed: ParsedStatement | None, now: datetime,
            actor: str) -> FileReport:
    with db.session() as session:
        recorded = store.record_file(session, sha256, filename, len(data), parsed,
                                     report.refused, f"{actor}:{filename}")
        report.file_known = recorded.file_known
        if parsed is not None:
            report.label = parsed.label
            report.read, report.new, report.known = len(parsed.lines), len(recorded.new), \
                recorded.known
            report.rejected = [(r.where, r.reason) for r in parsed.rejected]
        for line in recorded.new:
            if line.direction == "credit":
                settle_line(session, settings, line, now)
            report.outcomes[line.status] += 1
        flag_unconfirmed(session, settings, now)
    return report


# --- one credit line ------------------------------------------------------------------------

def settle_line(session: Session, settings: Settings, line: StatementLineRow,
                now: datetime) -> None:
    if line.reversal:
        return _set(session, line, IGNORED, "a reversal of an earlier booking, not a payment")
    if line.currency != "EUR":
        return _set(session, line, IGNORED, f"amount in {line.currency}, not EUR")
    refs = [r.value for r in line.refs]
    lenders: list[MessageRow] = []
    lent: list[str] = []
    for proof, extraction in _proofs_with_references(session, refs):
        if extraction.amount != line.amount:
            continue  # the bank's amount decides; the line stands on its own evidence
        if proof.status in RECORDED:
            return _confirm_proof(session, line, proof, extraction, now)
        # a proof waiting for the bank, or in review: the reference links it to this line,
        # so its order codes are this payment's (the causale may have none)
        lenders.append(proof)
        lent += _decided_codes(session, proof) if proof.status == AWAITING_BANK \
            else list(extraction.codes or ())
    fields = line_fields(line, settings, extra_codes=lent)
    if not lent and _confirm_by_code(session, line, fields, now):
        return None
    _decide_line(session, settings, line, fields, now, lenders)
    return None


def line_fields(line: StatementLineRow, settings: Settings,
                extra_codes: list[str] = ()) -> PaymentFields:  # type: ignore[assignment]
    """What a receipt would say, from what the bank says: the causale's codes, the amount,
    our account (when it is an IBAN, so rule 2 holds), the reference, day and payer."""
    candidates = find_codes(line.remittance.split(" | "))
    fields = PaymentFields(code_candidates=candidates, codes=[c.code for c in candidates],
                           amount=line.amount, currency=line.currency,
                           iban=line.account if bank_effects.is_iban(line.account) else None,
                           transfer_ref=line.reference, payment_date=line.booking_date,
                           payer=line.payer, method="bonifico")
    for code in extra_codes:
        if code not in fields.codes:
            fields.codes.append(code)
    return fields




def _decide_line(session: Session, settings: Settings, line: StatementLineRow,
                 fields: PaymentFields, now: datetime, lenders: list[MessageRow]) -> None:
    matching = settings.matching
    orders = candidate_orders(session, fields.codes, (),
                              neighbour_amount(fields, TEXT_SOURCE))
    # the bank's own statement is the bank document a customer's claim lacks
    decision = decide(fields, orders, matching.our_ibans, None, today=now.date(),
                      tolerance=matching.underpayment_tolerance, text_source=TEXT_SOURCE,
                      evidence=BANK_DOCUMENT)
    if fields.iban and fields.iban not in matching.our_ibans:
        decision = replace(decision, reason=f"a line of account {fields.iban}, which is not one "
                                            "of matching.our_ibans: never paid automatically")
    elif not fields.codes and decision.outcome not in RECORDED:
        decision = replace(decision, reason="no order code (RLM...) in the causale, and no "
                                            "proof of payment with the same reference")
    line.decision = _decision_json(decision)
    line.decided_at = now
    for flag in decision.flags:
        effects.flag_order(session, flag.code, flag.flag,
                           f"statement line #{line.id}: {flag.reason}",
                           actor=_actor(session, line))
    if decision.outcome not in RECORDED:
        return _set(session, line, UNMATCHED, decision.reason)
    try:
        with session.begin_nested():  # all the orders of the decision, or none of them
            for code in decision.order_codes:
                pay_from_line(session, settings, line, code, decision, now)
    except OrderNoLongerPending as exc:  # paid meanwhile by someone else: for a person
        return _set(session, line, UNMATCHED, f"order {exc} was no longer pending when the "
                                              "line was settled")
    _set(session, line, "matched", decision.reason)
    _join_proofs(session, line, decision, lenders)
    return None


def pay_from_line(session: Session, settings: Settings, line: StatementLineRow, code: str,
                  decision: MatchDecision, now: datetime) -> OrderRow:
    """A payment whose evidence is a statement line, through the same effects as any other
    (``effects``): pending -> paid or support, the renewal job and the customer's mail, in
    the import's transaction, keyed by the line so the same line never pays or mails
    twice."""
    paid = line.amount if len(decision.order_codes) == 1 else \
        orders_for_codes(session, [code])[code].amount
    common = dict(settings=settings, clock=lambda: now, actor=_actor(session, line),
                  reason=f"statement line #{line.id}: {decision.reason}",
                  evidence_key=f"line-{line.id}", receipt_id=None)
    why = decision.support_reason(code)
    if why is None:
        row = effects.pay_order(session, code, paid, **common)
    else:
        row = effects.route_to_support(session, code, paid, why, **common)
    store.link(session, line, row, PAID, paid, common["reason"])
    return row


def _actor(session: Session, line: StatementLineRow) -> str:
    file = session.get(StatementFileRow, line.file_id)
    return f"statement:{file.filename if file else line.file_id}"


def _confirm_proof(session: Session, line: StatementLineRow, proof: MessageRow,
                   extraction: ExtractionRow, now: datetime) -> None:
    reason = (f"confirms receipt #{proof.id}: same reference {extraction.transfer_ref} and "
              f"amount {euro(line.amount)}")
    for link in proof.orders:
        store.link(session, line, link.order, CONFIRMED, link.amount, reason)
        _clear_unconfirmed(session, link.order, line)
    line.message_id = proof.id
    line.decided_at = now
    _set(session, line, "matched", reason)


def _confirm_by_code(session: Session, line: StatementLineRow, fields: PaymentFields,
                     now: datetime) -> bool:
    """The causale names orders a proof already paid, for exactly this amount, and no line
    backs them yet: this line is the bank's side of that payment, not a second one."""
    if not fields.codes:
        return False
    rows = list(session.scalars(select(OrderRow).where(OrderRow.code.in_(fields.codes),
                                                       OrderRow.status.in_(PAID_STATUSES))))
    if not rows or store.lines_for_orders(session, [r.id for r in rows]):
        return False
    links = [link for r in rows for link in r.receipts if link.message.status in RECORDED]
    if not links or {link.order_id for link in links} != {r.id for r in rows}:
        return False
    receipts = {link.message_id for link in links}
    paid = sum((link.amount or Decimal("0.00") for link in links), Decimal("0.00"))
    if len(receipts) != 1 or paid != line.amount:
        return False
    proof = links[0].message
    reason = (f"confirms receipt #{proof.id}: the causale names "
              f"{', '.join(r.code for r in rows)}, paid by that receipt for "
              f"{euro(line.amount)}")
    for link in links:
        store.link(session, line, link.order, CONFIRMED, link.amount, reason)
        _clear_unconfirmed(session, link.order, line)
    line.message_id = proof.id
    line.decided_at = now
    _set(session, line, "matched", reason)
    return True


def _join_proofs(session: Session, line: StatementLineRow, decision: MatchDecision,
                 lenders: list[MessageRow]) -> None:
    """The proofs of the payment this line made become its matched receipts: those linked by
    reference (``lenders``), and those waiting for the bank (``awaiting_bank``) or in review
    (a customer's own words, "ho pagato", that only the bank could confirm) that name only
    orders this line paid, for this amount."""
    proofs = list(lenders)
    paid = set(decision.order_codes)
    waiting = (select(MessageRow, ExtractionRow).join(ExtractionRow)
               .where(MessageRow.status.in_((AWAITING_BANK, ReceiptStatus.UNMATCHED)),
                      ExtractionRow.document_id.is_(None),
                      ExtractionRow.amount == line.amount).order_by(MessageRow.id))
    for proof, extraction in session.execute(waiting):
        codes = set(_decided_codes(session, proof) if proof.status == AWAITING_BANK
                    else extraction.codes or ())
        if proof not in proofs and codes and codes <= paid:
            proofs.append(proof)
    rows = list(session.scalars(select(OrderRow).where(OrderRow.code.in_(paid))))
    for proof in proofs:
        for row in rows:
            session.add(ReceiptOrderRow(message_id=proof.id, order_id=row.id,
                                        amount=line.amount if len(rows) == 1 else row.amount))
        audit.change(session, proof, "status", MATCHED, actor=_actor(session, line),
                     reason=f"joined to bank statement line #{line.id}, which paid "
                            f"{', '.join(decision.order_codes)}")
        proof.reason = None
        line.message_id = line.message_id or proof.id


# --- the pipeline's side ------------------------------------------------------------------

def prior_line(session: Session, fields: PaymentFields,
               our_ibans: tuple[str, ...]) -> PriorReceipt | None:
    """A proof arriving after the bank's line that already paid: the same payment (same
    reference and amount, or codes naming the orders that line paid, for that amount, to
    one of our accounts)."""
    if fields.amount is None:
        return None
    for line in store.lines_with_reference(session, fields.transfer_ref, fields.amount):
        if line.status == "matched" and any(o.role == PAID for o in line.orders):
            return _prior(session, line, f"same reference {fields.transfer_ref}")
    if not fields.codes or (fields.iban and fields.iban not in our_ibans):
        return None
    rows = list(session.scalars(select(OrderRow).where(OrderRow.code.in_(fields.codes),
                                                       OrderRow.status.in_(PAID_STATUSES))))
    for row in rows:
        paid_by = session.scalars(select(StatementLineOrderRow).where(
            StatementLineOrderRow.order_id == row.id, StatementLineOrderRow.role == PAID))
        for link in paid_by:
            if not row.receipts and link.line.amount == fields.amount:
                return _prior(session, link.line, f"same code {row.code} and amount")
    return None


def _prior(session: Session, line: StatementLineRow, why: str) -> PriorReceipt:
    codes = tuple(sorted(session.get(OrderRow, o.order_id).code for o in line.orders))
    return PriorReceipt(0, why, codes, statement_line_id=line.id)


def after_proof(session: Session, receipt: MessageRow, fields: PaymentFields,
                decision: MatchDecision, now: datetime, our_ibans: tuple[str, ...]) -> None:
    """After a proof's decision was applied: the lines of the same payment are joined to
    it (a line that paid gets its proof; an unmatched line with its reference confirms)."""
    note_duplicate_of_line(session, receipt, decision)
    join_lines(session, receipt, fields, decision, now, our_ibans)


def note_duplicate_of_line(session: Session, receipt: MessageRow,
                           decision: MatchDecision) -> None:
    """The line that paid gets its proof, for the order page's side-by-side view."""
    if decision.prior_line is None:
        return
    line = session.get(StatementLineRow, decision.prior_line)
    if line is not None and line.message_id is None:
        line.message_id = receipt.id


def gate(session: Session, settings: Settings, fields: PaymentFields,
         decision: MatchDecision) -> MatchDecision:
    """``paid_on = "statement"``: a proof that would pay waits for the bank's line, unless
    that line is already here (same reference and amount)."""
    if settings.matching.paid_on != "statement" or decision.outcome not in RECORDED:
        return decision
    ours = settings.matching.our_ibans
    if any(bank_effects.on_our_account(line, ours) for line in
           store.lines_with_reference(session, fields.transfer_ref, fields.amount)):
        return decision
    return replace(decision, outcome=AWAITING_BANK, flags=(),
                   reason=f"waits for the bank's statement line (paid_on = statement): "
                          f"{decision.reason}")


def join_lines(session: Session, receipt: MessageRow, fields: PaymentFields,
               decision: MatchDecision, now: datetime, our_ibans: tuple[str, ...]) -> None:
    """A proof that paid: the lines already imported with its reference and amount, still
    unmatched, become its bank confirmation (``effects.bank``, as for a person's match)."""
    if decision.outcome not in RECORDED:
        return
    bank_effects.join_lines(session, receipt, fields.transfer_ref, fields.amount,
                            decision.order_codes, now, our_ibans)


# --- proof_then_statement -----------------------------------------------------------------

def business_days_between(start: date, end: date) -> int:
    """Italian bank business days after ``start`` up to and including ``end``: not a
    weekend, an Italian public holiday, or a TARGET2 closing day (Good Friday...), when no
    transfer is settled."""
    if end <= start:
        return 0
    years = range(start.year, end.year + 1)
    closed = holidays.country_holidays("IT", years=years) + \
        holidays.financial_holidays("XECB", years=years)
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            days += 1
    return days


def flag_unconfirmed(session: Session, settings: Settings, now: datetime) -> int:
    """``paid_on = "proof_then_statement"``: the orders a proof paid that no statement line
    backs ``statement_grace_days`` business days after the payment are flagged
    ``unconfirmed_by_bank``. Only payments the imported statements can speak for count
    (paid on or after the first day any imported statement covers): before statements
    are imported, or for orders paid long before, "no line" means nothing."""
    if settings.matching.paid_on != "proof_then_statement":
        return 0
    covered_from = session.scalar(select(func.min(StatementLineRow.booking_date)))
    if covered_from is None:
        return 0
    grace = settings.matching.statement_grace_days
    cutoff = now - timedelta(days=grace)  # business days are never fewer than calendar ones
    start = datetime(covered_from.year, covered_from.month, covered_from.day, tzinfo=UTC)
    backed = select(StatementLineOrderRow.order_id)
    proofs = select(ReceiptOrderRow.order_id)
    query = (select(OrderRow).where(OrderRow.status.in_(PAID_STATUSES),
                                    OrderRow.paid_at >= start, OrderRow.paid_at <= cutoff,
                                    OrderRow.id.not_in(backed), OrderRow.id.in_(proofs),
                                    OrderRow.review_flag.is_(None))
             .order_by(OrderRow.id))
    flagged = 0
    for row in session.scalars(query):
        days = business_days_between(row.paid_at.date(), now.date())
        if days < grace:
            continue
        effects.flag_order(session, row.code, UNCONFIRMED_BY_BANK,
                           f"paid on a proof on {row.paid_at.date().isoformat()}; no bank "
                           f"statement line after {days} business days "
                           f"(matching.statement_grace_days = {grace})")
        flagged += 1
    return flagged


def _clear_unconfirmed(session: Session, order: OrderRow, line: StatementLineRow) -> None:
    if order.review_flag == UNCONFIRMED_BY_BANK:
        why = f"statement line #{line.id} confirms the payment"
        audit.change(session, order, "review_flag", None, reason=why)
        audit.change(session, order, "review_reason", None, reason=why)


# --- helpers ------------------------------------------------------------------------------

def _set(session: Session, line: StatementLineRow, status: str, reason: str) -> None:
    audit.change(session, line, "status", status, reason=reason)
    line.reason = reason


def _proofs_with_references(session: Session,
                            refs: list[str]) -> list[tuple[MessageRow, ExtractionRow]]:
    if not refs:
        return []
    query = (select(MessageRow, ExtractionRow).join(ExtractionRow)
             .where(ExtractionRow.document_id.is_(None), ExtractionRow.transfer_ref.in_(refs),
                    MessageRow.status.not_in(("duplicate", "quarantined", "pec_receipt")))
             .order_by(MessageRow.id))
    return [(m, e) for m, e in session.execute(query)]


def _combined(message: MessageRow) -> ExtractionRow | None:
    return next((e for e in reversed(message.extractions) if e.document_id is None), None)


def _decided_codes(session: Session, message: MessageRow) -> list[str]:
    decision = session.scalars(select(MatchDecisionRow).where(
        MatchDecisionRow.message_id == message.id).order_by(MatchDecisionRow.id.desc())).first()
    return list(decision.order_codes) if decision else []


def _decision_json(decision: MatchDecision) -> dict:
    return {"outcome": decision.outcome, "reason": decision.reason,
            "order_codes": list(decision.order_codes),
            "candidates": [{"code": c.code, "score": c.score, "reasons": list(c.reasons)}
                           for c in decision.candidates],
            "flags": [{"code": f.code, "flag": f.flag, "reason": f.reason}
                      for f in decision.flags],
            "inputs": decision.inputs}
