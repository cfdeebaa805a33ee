"""The match decision: which pending order(s) a receipt pays, or why none.

Pure and deterministic: the receipt's fields, who sent it, and the candidate orders (those its
codes name, those one character away from a code read, those of the sender's email) go in; a
``MatchDecision`` comes out. Zero false payments first: an order is paid only when its code
and its amount are both backed by the evidence and every hard rule holds; everything else goes
to review (``unmatched``) with the ranked candidates and a reason a person can read.

The hard rules, in order (docs/matching.md has the table):

1. the same payment seen before -> ``duplicate``;
2. the document doubts itself (a negative amount, a reversal, a refused or pending
   transfer, readings of the amount that disagree) -> review with that reason; paid to an
   IBAN that is not ours, or no amount -> review; the customer's own text without a bank
   document -> review "no bank document" (``accept_written_claims`` relaxes this for a claim
   from the customer's registered address quoting a CRO/TRN);
3. codes read: the pending order(s) they name, with the amount equal (or short within
   ``underpayment_tolerance``, or over: paid and flagged for refund review); when a pending
   order one character away costs exactly the amount paid (a customer's slip would look the
   same), sender or payer must point at the order named at least as strongly; a code that
   may be misread (OCR, repaired, low confidence) pays only with no other pending order one
   character away, unless the amount and another independent signal single it out; a code
   naming no order pays the one order one character away that amount and sender or payer
   single out; an order already paid -> review as a possible double payment;
4. no code: the sender's email belongs to exactly one customer with exactly one pending
   order of exactly that amount -> paid; otherwise review with those orders;
5. a payment dated before the order existed -> review; an order the online procedure
   cannot renew (matching.rules) -> ``support``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from core.status import PAID_ORDER_STATUSES, ReceiptStatus, ReviewFlag
from intake.fields import PaymentFields
from intake.reading import BANK_DOCUMENT, CLAIM
from matching.codes import distance
from matching.orders import Order
from matching.renewal import support_reason
from matching.signals import (
    EQUAL,
    NEAR,
    NO_CODE,
    OVER,
    SHORT_TOLERATED,
    WEAK,
    Assessment,
    CodeRead,
    amount_relation,
    assess,
    code_reads,
    euro,
    normalise_name,
)

MATCHED, UNMATCHED, DUPLICATE, SUPPORT = (ReceiptStatus.MATCHED, ReceiptStatus.UNMATCHED,
                                          ReceiptStatus.DUPLICATE, ReceiptStatus.SUPPORT)
# order flags for a person to look at; the order's status is unaffected
REFUND_REVIEW = ReviewFlag.REFUND_REVIEW  # overpaid: refund the difference?
SHORTFALL = ReviewFlag.UNDERPAID_WITHIN_TOLERANCE  # paid, a bank fee short: the difference recorded
DOUBLE_PAYMENT_REVIEW = ReviewFlag.DOUBLE_PAYMENT_REVIEW  # paid again by a different payment?
# statuses of an order whose payment is already recorded
PAID_STATUSES = PAID_ORDER_STATUSES
MAX_CANDIDATES = 10
# what the customer is asked for after the decision (MatchDecision.request)
ASK_BANK_DOCUMENT = "bank_document"
NO_BANK_DOCUMENT = "no bank document"

__all__ = ["DUPLICATE", "MATCHED", "SUPPORT", "UNMATCHED", "Candidate", "MatchDecision",
           "OrderFlag", "PriorReceipt", "decide", "euro", "neighbour_amount"]


@dataclass(frozen=True)
class Candidate:
    code: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class OrderFlag:
    code: str
    flag: str
    reason: str


@dataclass(frozen=True)
class MatchDecision:
    outcome: str
    reason: str
    order_codes: tuple[str, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    duplicate_of: int | None = None
    inputs: dict = field(default_factory=dict)
    flags: tuple[OrderFlag, ...] = ()
    # (code, why) for orders paid but routed to sales support instead of the online renewal
    support: tuple[tuple[str, str], ...] = ()
    # what to ask the customer for, once: ASK_BANK_DOCUMENT when only their text was sent
    request: str | None = None
    # a duplicate of a bank statement line's payment (not of a receipt): the line's id
    prior_line: int | None = None

    def support_reason(self, code: str) -> str | None:
        return dict(self.support).get(code)


@dataclass(frozen=True)
class PriorReceipt:
    """An earlier receipt carrying the same payment (same document, CRO/TRN, or details)."""

    receipt_id: int
    why: str
    order_codes: tuple[str, ...]
    # the earlier record is a bank statement line that paid (``receipt_id`` is then unused)
    statement_line_id: int | None = None


class _Review(Exception):
    """Raised inside the decision to send the receipt to review (keeps the rules flat)."""

    def __init__(self, reason: str, flags: tuple[OrderFlag, ...] = (),
                 request: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.flags, self.request = reason, flags, request


@dataclass(frozen=True)
class _Receipt:
    fields: PaymentFields
    reads: list[CodeRead]
    assessed: list[Assessment]   # best first
    tolerance: Decimal
    today: date | None
    evidence: str = BANK_DOCUMENT
    accept_written_claims: bool = False
    ocr: bool = False  # the fields were read by OCR



# a value date may lie a day or two after the day the receipt is sent; a scheduled transfer
# (or a misread year) lies further ahead
FUTURE_DAYS = 3


def _future_date(r: _Receipt) -> None:
    """A payment dated, by a labelled date, after today: money not moved yet (a scheduled
    transfer's summary), never paid automatically."""
    paid_on, evidence = r.fields.payment_date, r.fields.evidence.get("payment_date")
    if r.today is None or paid_on is None or evidence is None or evidence.confidence < 0.9:
        return
    if (paid_on - r.today).days > FUTURE_DAYS:
        raise _Review(f"payment dated {paid_on.isoformat()} is in the future (today is "
                      f"{r.today.isoformat()}): a scheduled transfer or a misread date; never "
                      "paid automatically" + _details(r.assessed[:3]))


def neighbour_amount(fields: PaymentFields, text_source: str | None = None) -> Decimal | None:
    """Which neighbours (pending orders one edit away from a code read) ``decide`` needs:
    with one code read as it is and an amount, only those costing that amount (the rules
    never look at others); with a code that may be misread, or several codes, all of them
    (None)."""
    reads = code_reads(fields, text_source)
    if len(reads) == 1 and not reads[0].weak and fields.amount is not None:
        return fields.amount
    return None


def decide(fields: PaymentFields, orders: Mapping[str, Order], our_ibans: Sequence[str],
           prior: PriorReceipt | None = None, *, sender: str | None = None,
           certified_sender: str | None = None, today: date | None = None,
           tolerance: Decimal = Decimal("0.00"), text_source: str | None = None,
           evidence: str = BANK_DOCUMENT, accept_written_claims: bool = False,
           ) -> MatchDecision:
    """``orders``: the candidate orders keyed by code: those the codes read name (whatever
    their status), the pending ones one edit away from them (at least those costing
    ``neighbour_amount(fields, text_source)`` when that is not None), those of the sender.
    ``today`` is the day of the decision (the expiry rule's day when the receipt bears no
    payment date). ``evidence`` is ``intake.reading.Reading.evidence``: ``claim`` when the
    amount was read only from the customer's own text."""
    if not tolerance.is_finite() or tolerance < 0:
        raise ValueError(f"underpayment tolerance must be finite and >= 0, not {tolerance}")
    reads = code_reads(fields, text_source)
    senders = [s for s in (sender, certified_sender) if s]
    assessed = sorted((a for a in (assess(o, reads, fields, senders, tolerance)
                                   for o in orders.values())
                       if a.signals.link != NO_CODE or a.signals.email or a.signals.mailbox),
                      key=lambda a: (-a.score, a.order.code))
    receipt = _Receipt(fields, reads, assessed, tolerance, today, evidence,
                       accept_written_claims, text_source == "ocr")
    inputs = _inputs(fields, reads, orders, senders, receipt.today, tolerance, text_source)
    inputs["proof"] = evidence  # bank_document | claim ("evidence" is where fields were read)
    inputs["accept_written_claims"] = accept_written_claims
    inputs["doubts"] = [{"kind": d.kind, "reason": d.reason} for d in fields.doubts]
    candidates = _candidates(receipt, orders)
    if prior is not None and prior.statement_line_id is not None:
        return MatchDecision(DUPLICATE, f"same payment as bank statement line "
                             f"#{prior.statement_line_id} ({prior.why})", prior.order_codes,
                             candidates, None, inputs, prior_line=prior.statement_line_id)
    if prior is not None:
        return MatchDecision(DUPLICATE, f"same receipt as #{prior.receipt_id} ({prior.why})",
                             prior.order_codes, candidates, prior.receipt_id, inputs)
    try:
        chosen, lead = _choose(receipt, our_ibans)
        return _assign(receipt, chosen, lead, candidates, inputs)
    except _Review as review:
        return MatchDecision(UNMATCHED, review.reason, (), candidates, None, inputs,
                             review.flags, request=review.request)


def _choose(r: _Receipt, our_ibans: Sequence[str]) -> tuple[list[Assessment], str]:
    fields = r.fields
    if fields.doubts:
        raise _Review("; ".join(d.reason for d in fields.doubts) + "; never paid "
                      "automatically" + _details(r.assessed[:3]))
    _future_date(r)
    if fields.amount is not None and fields.amount <= 0:
        raise _Review(f"amount {euro(fields.amount)} is not a payment; never paid "
                      "automatically" + _details(r.assessed[:3]))
    claims_payment = bool(r.reads) or fields.amount is not None  # not a mere question
    if r.evidence == CLAIM and claims_payment and not r.accept_written_claims:
        missing = "; no amount found" if fields.amount is None else ""  # the reviewer's gap too
        raise _Review(f"{NO_BANK_DOCUMENT}: only the customer's own text says it was paid; "
                      "the bank's confirmation is needed" + missing + _details(r.assessed[:3]),
                      request=ASK_BANK_DOCUMENT)
    if fields.iban and fields.iban not in our_ibans:
        raise _Review(f"paid to IBAN {fields.iban}, which is not ours; never paid "
                      "automatically" + _details(r.assessed[:3]))
    if fields.amount is None:
        what = "no amount found" if r.reads else "neither an order code (RLM...) nor an " \
            "amount found"
        raise _Review(what + _details(r.assessed[:3]))
    if fields.currency not in (None, "EUR"):
        raise _Review(f"amount in {fields.currency}, not EUR")
    if r.reads:
        return _by_codes(r)
    if any(a.signals.mailbox for a in r.assessed):
        return _by_mailbox(r)
    return _by_sender(r)


# --- rule 3: codes read -------------------------------------------------------------------

def _by_codes(r: _Receipt) -> tuple[list[Assessment], str]:
    by_code = {a.order.code: a for a in r.assessed}
    named = [by_code[read.code] for read in r.reads if read.code in by_code]
    pending = [a for a in named if a.signals.pending]
    _mailbox_contradicts(r, pending)
    if len(pending) == 1:
        return [_single(r, pending[0])], ""
    if len(pending) > 1:
        return _several(r, pending)
    paid = [a for a in named if a.order.status in PAID_STATUSES]
    if paid:
        flags = tuple(OrderFlag(a.order.code, DOUBLE_PAYMENT_REVIEW,
                                f"another payment of {euro(r.fields.amount)} arrived for it "
                                "(possible double payment)") for a in paid)
        raise _Review("possible double payment: " + "; ".join(
            f"order {a.order.code} is already {a.order.status}" for a in paid)
            + _details(named), flags)
    if named:
        raise _Review(_details(named).lstrip("; "))
    if any(a.signals.mailbox for a in r.assessed):
        try:
            return _fuzzy(r)
        except _Review:
            # the code names no order; the mailbox written beside it may
            return _by_mailbox(r, f"code(s) {', '.join(x.code for x in r.reads)} name no "
                                  "order; ")
    return _fuzzy(r)


def _mailbox_contradicts(r: _Receipt, pending: list[Assessment]) -> None:
    """A code and a mailbox written on the same receipt that name different pending orders:
    one of them is wrong, and nothing says which."""
    mailboxed = [a for a in r.assessed if a.signals.mailbox and a.signals.pending]
    if pending and mailboxed and not any(a.signals.mailbox for a in pending):
        other = mailboxed[0]
        raise _Review(f"code {pending[0].order.code} and mailbox {other.order.pec_address} "
                      f"(order {other.order.code}) name different orders"
                      + _details(pending[:1] + [other]))


def _single(r: _Receipt, a: Assessment) -> Assessment:
    s = a.signals
    if s.amount not in (EQUAL, SHORT_TOLERATED, OVER):
        raise _Review(_details([a]).lstrip("; "))
    _contradicted(r, a)
    if s.link != WEAK:
        _typo_guard(r, a)
        return a
    if s.amount != EQUAL:
        raise _Review(f"code {a.order.code} may be misread and the amount is not equal"
                      + _details([a]))
    if s.amount_weak:
        raise _Review(f"code {a.order.code} may be misread and the amount was read with "
                      "too little confidence to confirm it" + _details([a]))
    rivals = _rivals(r, a)
    if rivals and not _singled_out(a, rivals):
        raise _Review(
            f"code {a.order.code} may be misread: pending order(s) "
            f"{', '.join(b.order.code for b in rivals)} are one character away and amount "
            "plus sender or payer do not single one out" + _details([a] + rivals))
    return a


def _typo_guard(r: _Receipt, a: Assessment, chosen: Sequence[Assessment] = ()) -> None:
    """A code read exactly may still be typed one character wrong by the customer. When a
    pending order one character away costs exactly what was paid, the code and amount alone
    cannot tell the two apart: the sender or payer must point at the order named, and at
    least as strongly as at any such neighbour (on a tie, e.g. two namesakes, the code as
    read decides; a neighbour pointed at more strongly is ``_contradicted``)."""
    paid = r.fields.amount
    alike = [b for b in _rivals(r, a) if b not in chosen and b.order.amount == paid]
    if not alike:
        return
    strength = a.signals.corroboration
    if a.signals.amount == EQUAL and strength > 0 and all(
            b.signals.corroboration <= strength for b in alike):
        return
    raise _Review(f"code {a.order.code} could be a one-character slip for pending order(s) "
                  f"{', '.join(b.order.code for b in alike)} of {euro(paid)} (amount "
                  "included), and neither sender nor payer singles out one of them"
                  + _details([a] + alike))


def _contradicted(r: _Receipt, a: Assessment) -> None:
    """A code typed one character wrong can name another customer's order of the same price:
    when the sender or payer is not that order's customer but is the customer of a pending
    order one character away with exactly that amount, the code is doubted, however read."""
    mistaken_for = [b for b in _rivals(r, a) if b.signals.amount == EQUAL
                    and b.signals.corroboration > a.signals.corroboration]
    if mistaken_for:
        b = mistaken_for[0]
        raise _Review(f"code {a.order.code} names another customer's order: the sender or "
                      f"payer is the customer of {b.order.code}, one character away, of the "
                      "same amount" + _details([a, b]))


def _rivals(r: _Receipt, a: Assessment) -> list[Assessment]:
    """Other pending orders a misread of ``a``'s code could have come from."""
    return [b for b in r.assessed if b is not a and b.signals.pending
            and distance(b.order.code, a.order.code) <= 1]


def _singled_out(a: Assessment, rivals: list[Assessment]) -> bool:
    """``a`` costs exactly what was paid, and sender or payer point at it more strongly
    than at any rival that also costs exactly that."""
    if a.signals.amount != EQUAL or not a.signals.corroborated:
        return False
    return all(b.signals.corroboration < a.signals.corroboration for b in rivals
               if b.signals.amount == EQUAL)


def _several(r: _Receipt, pending: list[Assessment]) -> tuple[list[Assessment], str]:
    """One payment for several orders: all of them, when the amount covers their sum."""
    codes = ", ".join(a.order.code for a in pending)
    total = sum((a.order.amount for a in pending), Decimal("0.00"))
    relation, _gap = amount_relation(total, r.fields.amount, Decimal("0.00"))
    if relation not in (EQUAL, OVER):
        raise _Review(f"codes {codes} found; amount {euro(r.fields.amount)} matches neither "
                      f"one of them nor their sum {euro(total)}" + _details(pending))
    for a in pending:
        if a.signals.link == WEAK and _rivals(r, a):
            raise _Review(f"code {a.order.code} may be misread: another pending order is "
                          "one character away" + _details(pending))
        _several_typo_guard(r, a, pending)
    return pending, f"one payment of {euro(r.fields.amount)} for orders {codes} " \
                    f"(sum {euro(total)})"


def _several_typo_guard(r: _Receipt, a: Assessment, chosen: list[Assessment]) -> None:
    """As ``_typo_guard``, for one of several orders paid together: a neighbour of the same
    price could stand in for it and the sum would still hold."""
    alike = [b for b in _rivals(r, a) if b not in chosen and b.order.amount == a.order.amount]
    if alike and not (a.signals.corroborated and all(
            b.signals.corroboration <= a.signals.corroboration for b in alike)):
        raise _Review(f"code {a.order.code} could be a one-character slip for pending order(s) "
                      f"{', '.join(b.order.code for b in alike)} of the same price, and neither "
                      "sender nor payer singles it out" + _details(chosen + alike))


def _fuzzy(r: _Receipt) -> tuple[list[Assessment], str]:
    """No code read names an order: one order one character away may be meant, when the
    amount and the sender or payer single it out among all such orders."""
    missing = ", ".join(read.code for read in r.reads)
    near = [a for a in r.assessed if a.signals.link == NEAR and a.signals.pending]
    fits = [a for a in near if a.signals.amount == EQUAL and a.signals.corroborated
            and not a.signals.amount_weak]
    strongest = max((a.signals.corroboration for a in fits), default=0)
    if sum(a.signals.corroboration == strongest for a in fits) == 1:
        fits = [a for a in fits if a.signals.corroboration == strongest]
        a = fits[0]
        return [a], (f"no order has code {a.signals.read.code}; order {a.order.code} is one "  # type: ignore[union-attr]
                     "character away and amount plus sender or payer single it out")
    if len(fits) > 1:
        raise _Review(f"code(s) {missing} found, no such order; several orders one character "
                      "away fit" + _details(fits))
    raise _Review(f"code(s) {missing} found; no such order" + _details(near[:3]))


# --- rule 4: no code ----------------------------------------------------------------------

def _by_sender(r: _Receipt) -> tuple[list[Assessment], str]:
    mine = [a for a in r.assessed if a.signals.email]
    if not mine:
        raise _Review("no order code (RLM...) found, and the sender is not a known customer")
    customers = {normalise_name(a.order.customer_name) for a in mine}
    fitting = [a for a in mine if a.signals.pending and a.signals.amount == EQUAL]
    amount = euro(r.fields.amount)  # type: ignore[arg-type]
    if len(fitting) == 1 and len(customers) == 1 and fitting[0].signals.amount_weak:
        raise _Review(f"no order code found; the amount {amount} was read with too little "
                      "confidence to single out the sender's order" + _details(fitting))
    if len(fitting) == 1 and len(customers) == 1:
        return fitting, (f"no code found; the sender's only pending order of {amount} is "
                         f"{fitting[0].order.code}")
    if len(customers) > 1:
        raise _Review(f"no order code found; the sender's address belongs to "
                      f"{len(customers)} customers" + _details(mine[:5]))
    if fitting:
        raise _Review(f"no order code found; the sender has {len(fitting)} pending orders "
                      f"of {amount}: {', '.join(a.order.code for a in fitting)}")
    raise _Review(f"no order code found; none of the sender's pending orders is for {amount}"
                  + _details(mine[:5]))


# --- rule 4a: the mailbox instead of the code ---------------------------------------------

def _by_mailbox(r: _Receipt, lead: str = "") -> tuple[list[Assessment], str]:
    """The customer wrote the mailbox (PEC address or userid) instead of the code: it counts
    as a code read as it is when it names exactly one mailbox with exactly one pending order
    of exactly the amount paid, read with confidence; otherwise review with those orders."""
    named = [a for a in r.assessed if a.signals.mailbox]
    mailboxes = {a.order.pec_address.lower() for a in named}
    fitting = [a for a in named if a.signals.pending and a.signals.amount == EQUAL]
    amount = euro(r.fields.amount)  # type: ignore[arg-type]
    written = ", ".join(r.fields.mailboxes)
    if len(mailboxes) > 1:
        raise _Review(f"{lead}mailbox(es) {written} name {len(mailboxes)} different mailboxes"
                      + _details(named[:5]))
    if len(fitting) > 1:
        raise _Review(f"{lead}mailbox {written} has {len(fitting)} pending orders of {amount}: "
                      f"{', '.join(a.order.code for a in fitting)}")
    if not fitting:
        paid = [a for a in named if a.order.status in PAID_STATUSES
                and a.signals.amount == EQUAL]
        if paid:
            raise _Review(f"{lead}possible double payment: mailbox {written} has no pending "
                          f"order of {amount}; order {paid[0].order.code} is already "
                          f"{paid[0].order.status}" + _details(named[:5]))
        raise _Review(f"{lead}mailbox {written} found; none of its pending orders is for "
                      f"{amount}" + _details(named[:5]))
    chosen = fitting[0]
    if chosen.signals.amount_weak:
        raise _Review(f"{lead}mailbox {written} names order {chosen.order.code}, but the "
                      f"amount {amount} was read with too little confidence to single it "
                      "out" + _details([chosen]))
    if r.ocr and _ocr_userid_only(r, chosen) and not (chosen.signals.email
                                                      or chosen.signals.name):
        raise _Review(f"{lead}userid {chosen.order.userid} read by OCR names order "
                      f"{chosen.order.code}; a misread userid could name another mailbox, "
                      "and neither sender nor payer confirms it" + _details([chosen]))
    return [chosen], (f"{lead}no code found; mailbox {written} names order "
                      f"{chosen.order.code} of {amount}")


def _ocr_userid_only(r: _Receipt, a: Assessment) -> bool:
    return a.order.pec_address.lower() not in r.fields.mailboxes


# --- rule 5: the chosen orders ------------------------------------------------------------

def _assign(r: _Receipt, chosen: list[Assessment], lead: str,
            candidates: tuple[Candidate, ...], inputs: dict) -> MatchDecision:
    if r.evidence == CLAIM:
        _written_claim(r, chosen)
    early = [a for a in chosen if a.signals.before_order]
    if early:
        raise _Review(f"payment dated {r.fields.payment_date} is before order "
                      f"{early[0].order.code} was placed ({early[0].order.ordered_at})"
                      + _details(chosen))
    codes = tuple(a.order.code for a in chosen)
    flags = _amount_flags(r, chosen)
    # the customer is judged on the day they paid, not on our processing delay
    on = r.fields.payment_date or r.today
    support = tuple((a.order.code, why) for a in chosen
                    if (why := support_reason(a.order, on)) is not None)
    reason = lead or "; ".join(chosen[0].reasons)
    if support:
        reason += "; routed to sales support: " + "; ".join(f"{c}: {w}" for c, w in support)
    return MatchDecision(SUPPORT if support else MATCHED, reason, codes, candidates, None,
                         inputs, flags, support)


def _written_claim(r: _Receipt, chosen: list[Assessment]) -> None:
    """With ``accept_written_claims``, the customer's own words pay only when they come from
    the address registered for every order paid and quote the bank's CRO/TRN."""
    strangers = [a.order.code for a in chosen if not a.signals.email]
    if strangers or not r.fields.transfer_ref:
        why = "no CRO/TRN quoted" if not strangers else \
            f"the sender is not the registered address of {', '.join(strangers)}"
        raise _Review(f"{NO_BANK_DOCUMENT}: a written claim pays only from the customer's "
                      f"registered address with a CRO/TRN ({why})" + _details(chosen),
                      request=ASK_BANK_DOCUMENT)


def _amount_flags(r: _Receipt, chosen: list[Assessment]) -> tuple[OrderFlag, ...]:
    paid = r.fields.amount
    assert paid is not None
    total = sum((a.order.amount for a in chosen), Decimal("0.00"))
    codes = ", ".join(a.order.code for a in chosen)
    if paid > total:
        why = f"paid {euro(paid)} for {codes} costing {euro(total)}: {euro(paid - total)} over"
        return tuple(OrderFlag(a.order.code, REFUND_REVIEW, why) for a in chosen)
    if paid < total and chosen[0].signals.amount == SHORT_TOLERATED:
        why = (f"paid {euro(paid)} for {codes} costing {euro(total)}: {euro(total - paid)} "
               "short, within the tolerance for bank fees")
        return tuple(OrderFlag(a.order.code, SHORTFALL, why) for a in chosen)
    return ()


# --- what is recorded ---------------------------------------------------------------------

def _details(assessed: Sequence[Assessment]) -> str:
    return "".join("; " + "; ".join(a.reasons) for a in assessed)


def _candidates(r: _Receipt, orders: Mapping[str, Order]) -> tuple[Candidate, ...]:
    ranked = [Candidate(a.order.code, a.score, a.reasons)
              for a in r.assessed[:MAX_CANDIDATES]]
    unknown = [Candidate(read.code, 0.0, (f"code {read.code} found; no such order",))
               for read in r.reads if read.code not in orders]
    return tuple(ranked + unknown)


def _inputs(fields: PaymentFields, reads: list[CodeRead], orders: Mapping[str, Order],
            senders: list[str], today: date | None, tolerance: Decimal,
            text_source: str | None) -> dict:
    return {
        "codes": list(fields.codes),
        "code_reads": [{"code": r.code, "confidence": r.confidence, "raw": r.raw,
                        "repaired": r.repaired, "ocr": r.ocr} for r in reads],
        "amount": str(fields.amount) if fields.amount is not None else None,
        "currency": fields.currency,
        "iban": fields.iban,
        "transfer_ref": fields.transfer_ref,
        "payment_date": fields.payment_date.isoformat() if fields.payment_date else None,
        "payer": fields.payer,
        "senders": senders,
        "today": today.isoformat() if today else None,
        "underpayment_tolerance": str(tolerance),
        "text_source": text_source,
        "mailboxes": list(fields.mailboxes),
        "confidence": dict(fields.confidence),
        "disputed": dict(fields.disputed),
        # where each field was read and how sure the reading is, for a reviewer or auditor
        "evidence": {name: {"snippet": ev.snippet, "line": ev.line,
                            "confidence": ev.confidence}
                     for name, ev in sorted(fields.evidence.items())},
        "orders": {code: {"status": o.status, "amount": str(o.amount),
                          "customer_email": o.customer_email, "userid": o.userid,
                          "expiry_date": o.expiry_date.isoformat()}
                   for code, o in sorted(orders.items())},
    }
