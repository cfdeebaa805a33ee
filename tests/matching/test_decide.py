"""The match decision, one table row per rule of docs/matching.md: receipt fields, sender
and candidate orders in; outcome, orders paid, reason and order flags out."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from intake.fields import PaymentFields
from matching.decide import (
    DOUBLE_PAYMENT_REVIEW,
    DUPLICATE,
    MATCHED,
    REFUND_REVIEW,
    SHORTFALL,
    SUPPORT,
    UNMATCHED,
    PriorReceipt,
    decide,
)
from matching.orders import Order
from tests.factories.matching import FOREIGN_IBAN, OUR_IBAN, TODAY, book, fields, order

ROSSI = "mario.rossi@example.com"
BIANCHI = "giulia.bianchi@example.com"


@dataclass
class Case:
    id: str
    fields: PaymentFields
    orders: dict[str, Order]
    outcome: str
    paid: tuple[str, ...] = ()
    reason: str = ""                 # a part of the reason a person reads
    flags: tuple[tuple[str, str], ...] = ()
    sender: str | None = None
    text_source: str | None = "text_layer"
    tolerance: str = "0.00"
    prior: PriorReceipt | None = None
    extra: dict = field(default_factory=dict)


CASES = [
    # --- codes and amounts ---
    Case("exact code, equal amount", fields("RLM95055"), book(order()), MATCHED,
         ("RLM95055",), "code RLM95055 found; amount 10,89 matches"),
    Case("short payment goes to review", fields("RLM95055", amount="9.89"), book(order()),
         UNMATCHED, (), "code RLM95055 found; amount 9,89 is 1,00 short of 10,89"),
    Case("short within the fee tolerance is paid, the difference recorded",
         fields("RLM95055", amount="9.89"), book(order()), MATCHED, ("RLM95055",),
         "within the tolerance", ((("RLM95055", SHORTFALL)),), tolerance="1.00"),
    Case("short beyond the tolerance goes to review", fields("RLM95055", amount="9.38"),
         book(order()), UNMATCHED, (), "1,51 short of 10,89", tolerance="1.50"),
    Case("overpayment is paid and flagged for refund review",
         fields("RLM95055", amount="20.00"), book(order()), MATCHED, ("RLM95055",),
         "9,11 more than 10,89", (("RLM95055", REFUND_REVIEW),)),
    Case("paid to someone else's IBAN: review, never paid",
         fields("RLM95055", iban=FOREIGN_IBAN), book(order()), UNMATCHED, (),
         f"paid to IBAN {FOREIGN_IBAN}, which is not ours"),
    Case("no amount read", fields("RLM95055", amount=None), book(order()), UNMATCHED, (),
         "no amount found"),
    Case("code of no order, nothing near", fields("RLM95055"), {}, UNMATCHED, (),
         "code(s) RLM95055 found; no such order"),
    Case("order not pending (sent to support)", fields("RLM95055"),
         book(order(status="cancelled")), UNMATCHED, (), "the order is cancelled"),
    # --- several orders, one payment ---
    Case("one payment for two orders: both paid",
         fields("RLM95055", "RLM95056", amount="32.67"),
         book(order(), order("RLM95056", "21.78")), MATCHED, ("RLM95055", "RLM95056"),
         "one payment of 32,67 for orders RLM95055, RLM95056"),
    Case("two codes, amount of only one: review",
         fields("RLM95055", "RLM95056", amount="10.89"),
         book(order(), order("RLM95056", "21.78")), UNMATCHED, (),
         "matches neither one of them nor their sum 32,67"),
    Case("two codes, one already paid, amount of the pending one: paid",
         fields("RLM95055", "RLM95056", amount="21.78"),
         book(order(status="paid"), order("RLM95056", "21.78")), MATCHED, ("RLM95056",)),
    # --- double payment and duplicates ---
    Case("order already paid by another payment: possible double payment",
         fields("RLM95055"), book(order(status="paid")), UNMATCHED, (),
         "possible double payment: order RLM95055 is already paid",
         (("RLM95055", DOUBLE_PAYMENT_REVIEW),)),
    Case("renewed order paid again", fields("RLM95055"), book(order(status="renewed")),
         UNMATCHED, (), "already renewed", (("RLM95055", DOUBLE_PAYMENT_REVIEW),)),
    Case("the same receipt again: duplicate, no payment", fields("RLM95055"),
         book(order(status="paid")), DUPLICATE, ("RLM95055",), "same receipt as #7",
         prior=PriorReceipt(7, "same CRO/TRN 0306912345678901", ("RLM95055",))),
    # --- no code: the sender's email ---
    Case("no code; the sender's one pending order of that amount",
         fields(payer=None), book(order()), MATCHED, ("RLM95055",),
         "the sender's only pending order of 10,89 is RLM95055", sender=ROSSI),
    Case("no code; the sender's PEC address",
         fields(payer=None), book(order(pec="studio@pec.example.it")), MATCHED,
         ("RLM95055",), sender="Studio@PEC.example.it"),
    Case("no code; two pending orders of that amount: review with both",
         fields(payer=None), book(order(), order("RLM77001")), UNMATCHED, (),
         "2 pending orders of 10,89: RLM77001, RLM95055", sender=ROSSI),
    Case("no code; the address is shared by two customers: review",
         fields(payer=None), book(order(), order("RLM77001", "21.78", name="Anna Verdi")),
         UNMATCHED, (), "belongs to 2 customers", sender=ROSSI),
    Case("no code; no pending order of that amount",
         fields(amount="21.78", payer=None), book(order()), UNMATCHED, (),
         "none of the sender's pending orders is for 21,78", sender=ROSSI),
    Case("no code; unknown sender", fields(payer=None), book(), UNMATCHED, (),
         "no order code (RLM...) found", sender="x@example.org"),
    # --- misread codes (OCR repaired, OCR read, fuzzy) ---
    Case("repaired code, no other order near: paid", fields("RLM95055", repaired=("RLM95055",)),
         book(order()), MATCHED, ("RLM95055",), "OCR-repaired"),
    Case("repaired code, a pending order one character away: review",
         fields("RLM95055", repaired=("RLM95055",), payer=None),
         book(order(), order("RLM95035", email=BIANCHI, name="Giulia Bianchi")), UNMATCHED,
         (), "pending order(s) RLM95035 are one character away"),
    Case("repaired code, near order, but amount and sender single it out",
         fields("RLM95055", repaired=("RLM95055",), payer=None),
         book(order(), order("RLM95035", email=BIANCHI, name="Giulia Bianchi")), MATCHED,
         ("RLM95055",), sender=ROSSI),
    Case("repaired code, near order of the same customer and amount: review",
         fields("RLM95055", repaired=("RLM95055",)),
         book(order(), order("RLM95035")), UNMATCHED, (), "do not single one out",
         sender=ROSSI),
    Case("repaired code, near order, payer name singles it out",
         fields("RLM95055", repaired=("RLM95055",), payer="ROSSI MARIO"),
         book(order(), order("RLM95035", email=BIANCHI, name="Giulia Bianchi")), MATCHED,
         ("RLM95055",)),
    Case("repaired code, amount over: review (misread codes need the exact amount)",
         fields("RLM95055", repaired=("RLM95055",), amount="11.89"), book(order()),
         UNMATCHED, (), "may be misread and the amount is not equal"),
    Case("code read by OCR, near order: review", fields("RLM95055", payer=None),
         book(order(), order("RLM95056", email=BIANCHI, name="Giulia Bianchi")), UNMATCHED,
         (), "read by OCR", text_source="ocr"),
    Case("low-confidence read, near order: review",
         fields("RLM95055", payer=None, confidence=0.6),
         book(order(), order("RLM95056", email=BIANCHI, name="Giulia Bianchi")), UNMATCHED,
         (), "read with confidence 0.60"),
    Case("exact code, a near order of another price: the amount singles it out",
         fields("RLM95055", payer=None),
         book(order(), order("RLM95056", "21.78", email=BIANCHI, name="Giulia Bianchi")),
         MATCHED, ("RLM95055",)),
    Case("exact code, a near order of the same price, nothing else: review (a slip?)",
         fields("RLM95055", payer=None),
         book(order(), order("RLM95056", email=BIANCHI, name="Giulia Bianchi")), UNMATCHED,
         (), "could be a one-character slip for pending order(s) RLM95056 of 10,89"),
    Case("exact code, a near order of the same price, the sender singles it out",
         fields("RLM95055", payer=None),
         book(order(), order("RLM95056", email=BIANCHI, name="Giulia Bianchi")), MATCHED,
         ("RLM95055",), sender=ROSSI),
    Case("exact code, a same-price neighbour of a namesake: the sender's address decides",
         fields("RLM95055"),
         book(order(), order("RLM95056", email=BIANCHI)), MATCHED, ("RLM95055",),
         sender=ROSSI),
    Case("exact code, a same-price neighbour of a namesake, no sender: the code decides",
         fields("RLM95055"),
         book(order(), order("RLM95056", email=BIANCHI)), MATCHED, ("RLM95055",)),
    Case("exact code, a namesake's same-price neighbour is the sender's: review",
         fields("RLM95055"),
         book(order(), order("RLM95056", email=BIANCHI)), UNMATCHED, (),
         "names another customer's order", sender=BIANCHI),
    Case("exact code overpaid, a near order costs exactly that: review",
         fields("RLM95055", amount="21.78"),
         book(order(), order("RLM95056", "21.78", email=BIANCHI, name="Giulia Bianchi")),
         UNMATCHED, (), "could be a one-character slip"),
    Case("two codes, one could be a slip for a same-price neighbour: review",
         fields("RLM95055", "RLM77001", amount="21.78", payer=None),
         book(order(), order("RLM77001"), order("RLM95056", email=BIANCHI)), UNMATCHED, (),
         "code RLM95055 could be a one-character slip"),
    Case("exact code of another customer's order, the sender's order one character away",
         fields("RLM95065", payer=None), book(order(), order("RLM95065", email=BIANCHI,
                                                             name="Giulia Bianchi")),
         UNMATCHED, (), "code RLM95065 names another customer's order", sender=ROSSI),
    Case("exact code of another customer's order, the payer's order one character away",
         fields("RLM95065"), book(order(), order("RLM95065", email=BIANCHI,
                                                 name="Giulia Bianchi")),
         UNMATCHED, (), "the sender or payer is the customer of RLM95055"),
    Case("exact code, a stranger paid, a same-price neighbour: review",
         fields("RLM95065", payer="Anna Verdi"),
         book(order(), order("RLM95065", email=BIANCHI, name="Giulia Bianchi")),
         UNMATCHED, (), "neither sender nor payer singles out one of them"),
    Case("exact code, a stranger paid, no neighbour of that price: paid (a relative paid)",
         fields("RLM95065", payer="Anna Verdi"),
         book(order("RLM95055", "21.78"), order("RLM95065", email=BIANCHI,
                                                name="Giulia Bianchi")),
         MATCHED, ("RLM95065",)),
    Case("code of no order; one order one character away, amount and sender fit",
         fields("RLM95056", payer=None), book(order()), MATCHED, ("RLM95055",),
         "no order has code RLM95056; order RLM95055 is one character away", sender=ROSSI),
    Case("code of no order; one order one character away, amount only: review",
         fields("RLM95056", payer=None), book(order()), UNMATCHED, (),
         "RLM95055 is one character away from RLM95056 found"),
    Case("code of no order; two near orders fit, the sender's own is the stronger",
         fields("RLM95056"), book(order(), order("RLM95057", email=BIANCHI)), MATCHED,
         ("RLM95055",), sender=ROSSI),
    Case("code of no order; two near orders fit: review",
         fields("RLM95056"), book(order(), order("RLM95057")), UNMATCHED, (),
         "several orders one character away fit"),
    Case("code of an unpaid order two characters away is never considered",
         fields("RLM95066"), book(order()), UNMATCHED, (), "no such order", sender=ROSSI),
    # --- dates and the renewal rules ---
    Case("payment dated before the order was placed: review",
         fields("RLM95055", paid_on=date(2026, 2, 1)), book(order()), UNMATCHED, (),
         "is before order RLM95055 was placed"),
    Case("KVIS userid: paid, routed to sales support",
         fields("RLM95055"), book(order(userid="KVIS0042")), SUPPORT, ("RLM95055",),
         "userid KVIS0042 starts with KVIS"),
    Case("mailbox more than 6 months past expiry: support",
         fields("RLM95055", paid_on=date(2026, 3, 14)),
         book(order(expiry=date(2025, 9, 13), ordered_at=None)), SUPPORT, ("RLM95055",),
         "more than 6 months before the payment on 2026-03-14"),
    Case("mailbox exactly 6 months past expiry: still renewed online",
         fields("RLM95055", paid_on=date(2026, 3, 14)),
         book(order(expiry=date(2025, 9, 14), ordered_at=None)), MATCHED, ("RLM95055",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_decision_table(case: Case) -> None:
    decision = decide(case.fields, case.orders, [OUR_IBAN], case.prior, sender=case.sender,
                      today=TODAY, tolerance=Decimal(case.tolerance),
                      text_source=case.text_source)
    assert (decision.outcome, decision.order_codes) == (case.outcome, case.paid), \
        decision.reason
    assert case.reason in decision.reason
    assert tuple((f.code, f.flag) for f in decision.flags) == case.flags
    if decision.outcome == SUPPORT:
        assert all(decision.support_reason(code) for code in decision.order_codes)


def test_candidates_are_ranked_best_first_with_reasons() -> None:
    decision = decide(fields("RLM95055", amount="9.89"),
                      book(order(), order("RLM95056", email=BIANCHI, name="Giulia Bianchi")),
                      [OUR_IBAN], today=TODAY)
    assert [c.code for c in decision.candidates] == ["RLM95055", "RLM95056"]
    assert decision.candidates[0].score > decision.candidates[1].score
    assert decision.candidates[0].reasons[:2] == ("code RLM95055 found",
                                                  "amount 9,89 is 1,00 short of 10,89")


def test_same_inputs_give_the_same_decision_whatever_the_order_of_the_book() -> None:
    orders = [order(f"RLM950{n:02d}", email=f"c{n}@example.com", name=f"Cliente {n}")
              for n in range(40)]
    receipt = fields("RLM95005", repaired=("RLM95005",), payer="Cliente 5")
    first = decide(receipt, book(*orders), [OUR_IBAN], sender="c5@example.com", today=TODAY)
    for seed in range(5):
        shuffled = orders[:]
        random.Random(seed).shuffle(shuffled)
        again = decide(receipt, book(*shuffled), [OUR_IBAN], sender="c5@example.com",
                       today=TODAY)
        assert again == first


def test_inputs_record_what_the_decision_saw() -> None:
    decision = decide(fields("RLM95055", repaired=("RLM95055",)), book(order()), [OUR_IBAN],
                      sender=ROSSI, today=TODAY, text_source="ocr")
    inputs = decision.inputs
    assert inputs["code_reads"] == [{"code": "RLM95055", "confidence": 0.7,
                                     "raw": "RLM95O55", "repaired": True, "ocr": True}]
    assert (inputs["amount"], inputs["senders"], inputs["today"]) == \
        ("10.89", [ROSSI], "2026-03-16")
    assert inputs["orders"]["RLM95055"]["status"] == "pending"
    assert inputs["evidence"] == {}  # the builder sets none; the pipeline test reads real ones
