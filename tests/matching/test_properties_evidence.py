"""The whole decision over random receipts, order books and settings (hypothesis, issue 10):
an order is paid only when a bank document's code names it (or, as the rules allow, a code
one edit away or the sender's own order, with the exact amount and corroboration) and its
amount is covered; never by a negative amount, a doubted document or the customer's own
words (unless written claims are accepted, and then only from the registered address with a
CRO/TRN); and never twice.
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.fields import AMOUNT_DISAGREES, NEGATIVE, NOT_EXECUTED, Doubt, PaymentFields
from intake.reading import BANK_DOCUMENT, CLAIM
from matching.codes import distance
from matching.decide import MATCHED, SUPPORT, decide
from matching.orders import Order
from tests.factories.matching import OUR_IBAN
from tests.matching.test_properties import DAY, fields_st, orders_st, sender_st

PAYS = (MATCHED, SUPPORT)

amounts_st = st.sampled_from([Decimal("10.89"), Decimal("21.78"), Decimal("9.89"),
                              Decimal("-10.89"), Decimal("-21.78"), Decimal("0.00"),
                              Decimal("0.01"), Decimal("32.67")])
doubts_st = st.lists(st.sampled_from([
    Doubt(NEGATIVE, "negative amount -10,89: a reversal or a debit, never a payment"),
    Doubt(NOT_EXECUTED, "a reversal or cancellation: the document says 'STORNO'"),
    Doubt(AMOUNT_DISAGREES, "the amount in figures (1,00) and in words (10,89) disagree"),
]), max_size=2)
settings_st = st.fixed_dictionaries({
    "tolerance": st.sampled_from([Decimal("0.00"), Decimal("0.50"), Decimal("1.00"),
                                  Decimal("5.00")]),
    "accept_written_claims": st.booleans(),
    "evidence": st.sampled_from([BANK_DOCUMENT, BANK_DOCUMENT, CLAIM]),
    "text_source": st.sampled_from(["text_layer", "ocr", "email_body"]),
})


@st.composite
def receipts_st(draw: st.DrawFn) -> PaymentFields:
    f = draw(fields_st)
    if draw(st.booleans()):
        amount = draw(amounts_st)
        f = replace(f, amount=amount, currency="EUR")
    return replace(f, doubts=draw(doubts_st),
                   transfer_ref=draw(st.sampled_from([None, "0306912345678901"])))


def _decide(f: PaymentFields, orders: dict[str, Order], sender: str | None, s: dict):  # noqa: ANN202
    return decide(f, orders, [OUR_IBAN], sender=sender, today=DAY, tolerance=s["tolerance"],
                  text_source=s["text_source"], evidence=s["evidence"],
                  accept_written_claims=s["accept_written_claims"])


@settings(max_examples=800, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(receipts_st(), orders_st, sender_st, settings_st)
def test_paid_only_on_a_bank_document_naming_the_order_with_the_amount_covered(
        f: PaymentFields, orders: dict[str, Order], sender: str | None, s: dict) -> None:
    decision = _decide(f, orders, sender, s)
    if decision.outcome not in PAYS:
        assert decision.order_codes == () or decision.outcome == "duplicate"
        not_a_payment = f.amount is not None and f.amount <= 0
        if s["evidence"] == CLAIM and not s["accept_written_claims"] and not f.doubts \
                and not not_a_payment and (f.codes or f.amount is not None):
            assert decision.reason.startswith("no bank document")
            assert decision.request == "bank_document"
        return
    paid = [orders[c] for c in decision.order_codes]
    # never on a negative (or zero) amount, never on a document that doubts itself
    assert f.amount is not None and f.amount > 0
    assert not f.doubts
    # a bank document, or an accepted claim from the registered address with a CRO/TRN
    if s["evidence"] == CLAIM:
        assert s["accept_written_claims"] and f.transfer_ref
        assert all(sender in (o.customer_email, o.pec_address) for o in paid)
    # the order is pending, the money went to us, and the amount covers it
    assert f.iban in (OUR_IBAN, None)
    assert all(o.status == "pending" for o in paid)
    due = sum(o.amount for o in paid)
    assert f.amount >= due - (s["tolerance"] if len(paid) == 1 else 0)
    # the code names it; or one edit away / the sender's own order, with the exact amount
    for o in paid:
        if o.code in f.codes:
            continue
        assert o.amount == f.amount
        if f.codes:
            assert any(distance(o.code, c) == 1 for c in f.codes)
        else:
            assert sender in (o.customer_email, o.pec_address)


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(receipts_st(), orders_st, sender_st, settings_st, st.integers(1, 3))
def test_never_paid_twice(f: PaymentFields, orders: dict[str, Order], sender: str | None,
                          s: dict, rounds: int) -> None:
    """GIVEN the order book after a decision was carried out (its orders paid) WHEN the same
    payment is decided again, any number of times, even unrecognised as a duplicate THEN no
    order is paid a second time."""
    paid_once: set[str] = set()
    book = dict(orders)
    for _ in range(rounds + 1):
        decision = _decide(f, book, sender, s)
        if decision.outcome in PAYS:
            assert not paid_once & set(decision.order_codes), decision.reason
            paid_once |= set(decision.order_codes)
            book = {code: replace(o, status="paid") if code in decision.order_codes else o
                    for code, o in book.items()}
