"""The match decision: which pending order(s) a receipt pays, or why none.

Pure and deterministic: the receipt's fields and the orders its codes name go in, a
``MatchDecision`` comes out. An order is paid only on solid evidence: a code naming exactly
that pending order and an amount equal to what it costs. Everything else goes to review with
a reason a person can read.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from intake.fields import PaymentFields
from matching.orders import Order

MATCHED, UNMATCHED, DUPLICATE = "matched", "unmatched", "duplicate"


@dataclass(frozen=True)
class Candidate:
    code: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MatchDecision:
    outcome: str
    reason: str
    order_codes: tuple[str, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    duplicate_of: int | None = None
    inputs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PriorReceipt:
    """An earlier receipt carrying the same evidence (same document, same CRO/TRN)."""

    receipt_id: int
    why: str
    order_codes: tuple[str, ...]


def euro(value: Decimal) -> str:
    """Italian notation for reasons people read: 1.234,56."""
    text = f"{value:,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def decide(fields: PaymentFields, orders: Mapping[str, Order], our_ibans: Sequence[str],
           prior: PriorReceipt | None = None) -> MatchDecision:
    """``orders`` holds the order, whatever its status, for each code found that exists."""
    inputs = _inputs(fields, orders)
    if prior is not None:
        return MatchDecision(DUPLICATE, f"same receipt as #{prior.receipt_id} ({prior.why})",
                             prior.order_codes, duplicate_of=prior.receipt_id, inputs=inputs)
    if not fields.codes:
        return MatchDecision(UNMATCHED, "no order code (RLM...) found", inputs=inputs)
    candidates = tuple(_candidate(code, orders.get(code), fields.amount)
                       for code in fields.codes)
    if fields.iban and fields.iban not in our_ibans:
        return MatchDecision(UNMATCHED, f"paid to IBAN {fields.iban}, which is not ours",
                             candidates=candidates, inputs=inputs)
    if fields.amount is None:
        return MatchDecision(UNMATCHED, _join("no amount found", candidates),
                             candidates=candidates, inputs=inputs)
    pending = [orders[c] for c in fields.codes if c in orders and orders[c].status == "pending"]
    exact = [o for o in pending if o.amount == fields.amount]
    if len(exact) == 1 and len(pending) == 1:
        order = exact[0]
        return MatchDecision(MATCHED, f"code {order.code} and amount {euro(order.amount)} "
                             "match a pending order", (order.code,), candidates, inputs=inputs)
    if len(pending) > 1 and sum(o.amount for o in pending) == fields.amount:
        codes = tuple(o.code for o in pending)
        return MatchDecision(MATCHED, f"one payment of {euro(fields.amount)} for orders "
                             f"{', '.join(codes)}", codes, candidates, inputs=inputs)
    if len(pending) > 1:
        return MatchDecision(UNMATCHED, _join(
            f"codes {', '.join(o.code for o in pending)} found; amount "
            f"{euro(fields.amount)} matches neither one of them nor their sum", candidates),
            candidates=candidates, inputs=inputs)
    return MatchDecision(UNMATCHED, _join("", candidates), candidates=candidates, inputs=inputs)


def _candidate(code: str, order: Order | None, amount: Decimal | None) -> Candidate:
    if order is None:
        return Candidate(code, 0.0, (f"code {code} found; no such order",))
    if order.status != "pending":
        return Candidate(code, 0.1, (f"code {code} found; the order is already {order.status}",))
    if amount is None:
        return Candidate(code, 0.5, (f"code {code} found; no amount to compare with "
                                     f"{euro(order.amount)}",))
    if amount == order.amount:
        return Candidate(code, 1.0, (f"code {code} found; amount {euro(amount)} matches",))
    gap = abs(order.amount - amount)
    side = "short of" if amount < order.amount else "more than"
    return Candidate(code, 0.4, (f"code {code} found; amount {euro(amount)} is {euro(gap)} "
                                 f"{side} {euro(order.amount)}",))


def _join(lead: str, candidates: tuple[Candidate, ...]) -> str:
    parts = [lead] if lead else []
    parts += [reason for c in candidates for reason in c.reasons]
    return "; ".join(parts)


def _inputs(fields: PaymentFields, orders: Mapping[str, Order]) -> dict:
    return {
        "codes": list(fields.codes),
        "amount": str(fields.amount) if fields.amount is not None else None,
        "iban": fields.iban,
        "transfer_ref": fields.transfer_ref,
        "payment_date": fields.payment_date.isoformat() if fields.payment_date else None,
        "payer": fields.payer,
        "orders": {code: {"status": o.status, "amount": str(o.amount)}
                   for code, o in sorted(orders.items())},
    }
