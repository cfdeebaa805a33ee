"""How well one candidate order fits one receipt: the signals, a score and readable reasons.

Signals are business evidence, each checked against the order book: how the order's code was
found (read exactly, read but possibly misread, one character away from a code read, or not
at all), the amount (equal, short, over), the sender's email against the customer's, the
payer's name against the customer's (fuzzy, rapidfuzz), and the payment date against the
order date. The score only ranks candidates for a reviewer; the decision rests on the
signals themselves (``matching.decide``).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache

from rapidfuzz import fuzz

from core.status import OrderStatus
from intake.fields import PaymentFields
from matching.codes import distance
from matching.orders import Order

PENDING = OrderStatus.PENDING
# A read below this confidence may be a misread even when it names an existing order.
STRONG_CONFIDENCE = 0.9
# An amount read with less confidence than this is weak evidence (intake.confidence): it may
# confirm an order a code names, never single one out by itself.
WEAK_AMOUNT = 0.6
NAME_MATCH = 92  # rapidfuzz token_sort_ratio, 0..100: same tokens, one typo in a long name
_TITLES = {"avv", "avvocato", "avvocata", "dott", "dottssa", "dottoressa", "dr", "sig",
           "sigra", "signor", "signora", "studio", "legale", "associato", "associati", "prof"}

# code links, strongest first
EXACT, WEAK, NEAR, NO_CODE = "exact", "weak", "near", "none"
# amount relations
EQUAL, SHORT_TOLERATED, SHORT, OVER, ABSENT = "equal", "short_tolerated", "short", "over", \
    "absent"
_CODE_POINTS = {EXACT: 0.5, WEAK: 0.4, NEAR: 0.2, NO_CODE: 0.0}
_AMOUNT_POINTS = {EQUAL: 0.3, SHORT_TOLERATED: 0.25, OVER: 0.15, SHORT: 0.05, ABSENT: 0.0}


def euro(value: Decimal) -> str:
    """Italian notation for reasons people read: 1.234,56."""
    text = f"{value:,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


@dataclass(frozen=True)
class CodeRead:
    """One order code read from the receipt, and whether the reading may be wrong."""

    code: str
    confidence: float
    raw: str
    repaired: bool = False
    ocr: bool = False

    @property
    def weak(self) -> bool:
        """Repaired by OCR post-processing, read by OCR, or read with low confidence: the
        digits may belong to a neighbouring order."""
        return self.repaired or self.ocr or self.confidence < STRONG_CONFIDENCE


def code_reads(fields: PaymentFields, text_source: str | None = None) -> list[CodeRead]:
    ocr = text_source == "ocr"
    by_code = {c.code: c for c in fields.code_candidates}
    reads = []
    for code in fields.codes:
        candidate = by_code.get(code)
        if candidate is None:
            reads.append(CodeRead(code, 1.0, code, ocr=ocr))
        else:
            reads.append(CodeRead(code, candidate.confidence, candidate.raw,
                                  candidate.repaired, ocr))
    return reads


@dataclass(frozen=True)
class Signals:
    link: str                 # EXACT | WEAK | NEAR | NO_CODE
    read: CodeRead | None     # the code read that links the order, if any
    amount: str               # EQUAL | SHORT_TOLERATED | SHORT | OVER | ABSENT
    gap: Decimal              # order amount - amount paid (negative: overpaid)
    email: bool               # the sender is the customer (email or PEC address)
    name: bool                # the payer's name is the customer's
    before_order: bool        # paid before the order existed: its code cannot be known
    pending: bool
    # the receipt names the order's mailbox (its PEC address or userid) in the causale/body
    mailbox: bool = False
    # the amount read is weak evidence (low confidence: unlabelled, or OCR unconfirmed)
    amount_weak: bool = False

    @property
    def corroborated(self) -> bool:
        """An independent signal besides code and amount names this customer."""
        return self.email or self.name or self.mailbox

    @property
    def corroboration(self) -> int:
        """How strongly: the sender's address or the mailbox written on the receipt (an
        identity) outweighs a payer's name (many people share one); together count most."""
        return 2 * self.email + self.name + 2 * self.mailbox


@dataclass(frozen=True)
class Assessment:
    order: Order
    signals: Signals
    score: float
    fields: PaymentFields

    @cached_property
    def reasons(self) -> tuple[str, ...]:
        """Written only for the candidates a person will read (most neighbours are not)."""
        return tuple(_reasons(self.order, self.signals, self.fields))


def assess(order: Order, reads: Sequence[CodeRead], fields: PaymentFields,
           senders: Iterable[str], tolerance: Decimal) -> Assessment:
    link, read = _link(order.code, reads)
    amount, gap = amount_relation(order.amount, fields.amount, tolerance)
    signals = Signals(
        link=link, read=read, amount=amount, gap=gap,
        email=_email_matches(order, senders),
        name=names_match(fields.payer, order.customer_name),
        before_order=bool(fields.payment_date and order.ordered_at
                          and fields.payment_date < order.ordered_at),
        pending=order.status == PENDING,
        mailbox=mailbox_matches(order, fields.mailboxes),
        amount_weak=amount_is_weak(fields))
    return Assessment(order, signals, _score(signals), fields)


def _link(code: str, reads: Sequence[CodeRead]) -> tuple[str, CodeRead | None]:
    for read in reads:
        if read.code == code:
            return (WEAK if read.weak else EXACT), read
    for read in reads:
        if distance(read.code, code) == 1:
            return NEAR, read
    return NO_CODE, None


def amount_relation(due: Decimal, paid: Decimal | None,
                    tolerance: Decimal) -> tuple[str, Decimal]:
    if paid is None:
        return ABSENT, Decimal("0.00")
    gap = due - paid
    if gap == 0:
        return EQUAL, gap
    if gap < 0:
        return OVER, gap
    return (SHORT_TOLERATED if gap <= tolerance else SHORT), gap


def mailbox_matches(order: Order, mailboxes: Sequence[str]) -> bool:
    """The receipt names this order's mailbox: its PEC address or its userid (lower-cased)."""
    if not mailboxes:
        return False
    own = {order.pec_address.lower(), order.userid.strip().lower()} - {""}
    return any(m in own for m in mailboxes)


def amount_is_weak(fields: PaymentFields) -> bool:
    confidence = fields.confidence.get("amount") if fields.confidence else None
    return confidence is not None and confidence < WEAK_AMOUNT


def _email_matches(order: Order, senders: Iterable[str]) -> bool:
    own = {order.customer_email.lower(), order.pec_address.lower()}
    return any(s and s.lower() in own for s in senders)


@lru_cache(maxsize=4096)
def normalise_name(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    tokens = re.sub(r"[^a-z0-9 ]+", " ", text.replace(".", "")).split()
    return " ".join(t for t in tokens if t not in _TITLES)


def names_match(payer: str | None, customer: str) -> bool:
    """Same person, in any order of first and last name, titles and accents aside."""
    if not payer:
        return False
    a, b = normalise_name(payer), normalise_name(customer)
    if not a or not b:
        return False
    return fuzz.token_sort_ratio(a, b) >= NAME_MATCH


def _score(s: Signals) -> float:
    score = _CODE_POINTS[s.link] + _AMOUNT_POINTS[s.amount]
    score += 0.1 * s.email + 0.05 * s.name + (0.4 if s.link == NO_CODE else 0.1) * s.mailbox
    score += -0.2 if s.before_order else 0.05
    if not s.pending:
        score *= 0.25
    return round(max(score, 0.0), 3)


def _reasons(order: Order, s: Signals, fields: PaymentFields) -> list[str]:
    reasons = [_code_reason(order.code, s)]
    if not s.pending:
        reasons.append(f"the order is {order.status}, not pending")
    reasons.append(_amount_reason(order.amount, fields.amount, s))
    if s.email:
        reasons.append("the sender is the customer's email address")
    if s.mailbox:
        reasons.append(f"the receipt names the order's mailbox ({order.pec_address} / "
                       f"userid {order.userid})")
    if s.name:
        reasons.append(f"payer {fields.payer!r} matches customer {order.customer_name!r}")
    elif fields.payer:
        reasons.append(f"payer {fields.payer!r} is not customer {order.customer_name!r}")
    if s.before_order:
        reasons.append(f"paid on {fields.payment_date.isoformat()}, before the order of "  # type: ignore[union-attr]
                       f"{order.ordered_at.isoformat()}")  # type: ignore[union-attr]
    return reasons


def _code_reason(code: str, s: Signals) -> str:
    read = s.read
    if s.link == EXACT:
        return f"code {code} found"
    if s.link == WEAK and read is not None:
        how = "OCR-repaired" if read.repaired else "read by OCR" if read.ocr \
            else f"read with confidence {read.confidence:.2f}"
        return f"code {code} found ({how} from {read.raw!r})"
    if s.link == NEAR and read is not None:
        return f"code {code} is one character away from {read.code} found"
    if s.mailbox:
        return f"no code names order {code}; found by its mailbox written on the receipt"
    return f"no code names order {code}; found by the sender's email"


def _amount_reason(due: Decimal, paid: Decimal | None, s: Signals) -> str:
    if paid is None:
        return f"no amount to compare with {euro(due)}"
    if s.amount == EQUAL:
        return f"amount {euro(paid)} matches"
    if s.amount == OVER:
        return f"amount {euro(paid)} is {euro(-s.gap)} more than {euro(due)}"
    within = " (within the tolerance for bank fees)" if s.amount == SHORT_TOLERATED else ""
    return f"amount {euro(paid)} is {euro(s.gap)} short of {euro(due)}{within}"
