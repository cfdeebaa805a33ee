"""The evidence rules of issue 10: no payment on a negative amount, on a transfer the bank
did not execute, on readings of the amount that disagree, or on the customer's own words."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from intake.fields import (
    AMOUNT_DISAGREES,
    NEGATIVE,
    NOT_EXECUTED,
    Doubt,
    Evidence,
    PaymentFields,
)
from intake.reading import BANK_DOCUMENT, CLAIM
from matching.decide import ASK_BANK_DOCUMENT, MATCHED, UNMATCHED, decide
from tests.factories.matching import OUR_IBAN, TODAY, book, fields, order

ROSSI = "mario.rossi@example.com"


def test_a_bank_document_naming_the_order_pays() -> None:
    decision = decide(fields("RLM95055"), book(order()), [OUR_IBAN], today=TODAY,
                      evidence=BANK_DOCUMENT)
    assert decision.outcome == MATCHED and decision.request is None


@pytest.mark.parametrize("kind", [NEGATIVE, NOT_EXECUTED, AMOUNT_DISAGREES])
def test_a_doubted_document_never_pays(kind: str) -> None:
    f = fields("RLM95055")
    f.doubts.append(Doubt(kind, f"doubt of kind {kind}"))
    decision = decide(f, book(order()), [OUR_IBAN], sender=ROSSI, today=TODAY)
    assert decision.outcome == UNMATCHED
    assert decision.reason.startswith(f"doubt of kind {kind}; never paid automatically")
    assert decision.inputs["doubts"] == [{"kind": kind, "reason": f"doubt of kind {kind}"}]


@pytest.mark.parametrize("amount", ["-10.89", "0.00"])
def test_a_negative_or_zero_amount_never_pays(amount: str) -> None:
    decision = decide(fields("RLM95055", amount=amount), book(order()), [OUR_IBAN],
                      sender=ROSSI, today=TODAY)
    assert decision.outcome == UNMATCHED and "not a payment" in decision.reason


def test_a_claim_goes_to_review_and_asks_for_the_bank_document() -> None:
    decision = decide(fields("RLM95055"), book(order()), [OUR_IBAN], sender=ROSSI,
                      today=TODAY, evidence=CLAIM)
    assert decision.outcome == UNMATCHED
    assert decision.reason.startswith("no bank document")
    assert decision.request == ASK_BANK_DOCUMENT
    assert decision.inputs["proof"] == CLAIM


def test_accepted_claims_need_the_registered_address_and_a_cro() -> None:
    def claim(sender: str | None, cro: str | None):  # noqa: ANN202
        return decide(fields("RLM95055", transfer_ref=cro), book(order()), [OUR_IBAN],
                      sender=sender, today=TODAY, evidence=CLAIM, accept_written_claims=True)
    assert claim(ROSSI, "0306912345678901").outcome == MATCHED
    stranger = claim("someone@example.org", "0306912345678901")
    assert stranger.outcome == UNMATCHED and "not the registered address" in stranger.reason
    assert stranger.request == ASK_BANK_DOCUMENT
    no_cro = claim(ROSSI, None)
    assert no_cro.outcome == UNMATCHED and "no CRO/TRN" in no_cro.reason


def test_a_tolerance_that_is_no_number_is_refused() -> None:
    for bad in (Decimal("NaN"), Decimal("Infinity"), Decimal("-1")):
        with pytest.raises(ValueError):
            decide(fields("RLM95055", amount="0.01"), book(order()), [OUR_IBAN],
                   today=TODAY, tolerance=bad)


def _dated(paid_on: date, confidence: float = 0.9) -> PaymentFields:
    f = fields("RLM95055", paid_on=paid_on)
    f.evidence["payment_date"] = Evidence("Data esecuzione: ...", 3, confidence)
    return f


def test_a_transfer_dated_in_the_future_is_scheduled_and_never_pays() -> None:
    """GIVEN a labelled execution date a week after today (a scheduled transfer's summary)
    THEN review; a value date a day or two ahead, or an unlabelled date, does not stop it."""
    later = decide(_dated(TODAY + timedelta(days=7)), book(order()), [OUR_IBAN],
                   sender=ROSSI, today=TODAY)
    assert later.outcome == UNMATCHED and "is in the future" in later.reason
    for f in (_dated(TODAY + timedelta(days=2)), _dated(TODAY + timedelta(days=30), 0.6)):
        assert decide(f, book(order()), [OUR_IBAN], sender=ROSSI,
                      today=TODAY).outcome == MATCHED
