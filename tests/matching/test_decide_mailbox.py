"""The mailbox as an identifier, and low-confidence fields as weak evidence (issue 13).

A customer who writes the mailbox ("Rinnovo casella mario.rossi@pec.avvocati.it", or the
userid) instead of the order code is matched as a code read as it is: exactly one pending
order of that mailbox, the amount equal, the same hard rules; anything less goes to review.
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from intake.fields import Doubt, extract_fields
from matching.decide import MATCHED, UNMATCHED, decide
from tests.factories.matching import OUR_IBAN, TODAY, book, fields, order

PEC = "mario.rossi@pec.avvocati.it"
ROSSI = order("RLM95055", pec=PEC, userid="MROSSI01")


def with_mailbox(*codes: str, mailboxes=(PEC,), **kwargs):  # noqa: ANN001, ANN202
    found = fields(*codes, **kwargs)
    found.mailboxes = list(mailboxes)
    return found


def run(found, orders, **kwargs):  # noqa: ANN001, ANN202
    return decide(found, orders, [OUR_IBAN], today=TODAY, **kwargs)


def test_the_pec_address_of_one_pending_order_with_the_amount_equal_pays_it() -> None:
    decision = run(with_mailbox(), book(ROSSI, order("RLM11111", "10.89", pec="x@pec.it")))
    assert decision.outcome == MATCHED and decision.order_codes == ("RLM95055",)
    assert f"mailbox {PEC} names order RLM95055" in decision.reason


def test_the_userid_counts_as_the_mailbox_whatever_its_case() -> None:
    decision = run(with_mailbox(mailboxes=("mrossi01",)), book(ROSSI))
    assert decision.outcome == MATCHED and decision.order_codes == ("RLM95055",)


def test_a_mailbox_with_a_different_amount_goes_to_review() -> None:
    decision = run(with_mailbox(amount="12.00"), book(ROSSI))
    assert decision.outcome == UNMATCHED
    assert "none of its pending orders is for 12,00" in decision.reason


def test_a_mailbox_with_two_pending_orders_of_that_amount_goes_to_review() -> None:
    twin = order("RLM95077", pec=PEC, userid="MROSSI01")
    decision = run(with_mailbox(), book(ROSSI, twin))
    assert decision.outcome == UNMATCHED and "2 pending orders of 10,89" in decision.reason


def test_a_userid_shared_by_two_mailboxes_is_a_namesake_review() -> None:
    other = order("RLM40001", pec="rossi.mario@pec.ordineavvocati.it", userid="MROSSI01",
                  name="Mario Rossi")
    decision = run(with_mailbox(mailboxes=("mrossi01",)), book(ROSSI, other))
    assert decision.outcome == UNMATCHED and "2 different mailboxes" in decision.reason


def test_the_same_hard_rules_hold_for_a_mailbox_as_for_a_code() -> None:
    foreign = run(with_mailbox(iban="IT60X0542811101000000123456"), book(ROSSI))
    assert foreign.outcome == UNMATCHED and "not ours" in foreign.reason
    doubted = with_mailbox()
    doubted.doubts = [Doubt("not_executed", "the transfer was refused")]
    assert run(doubted, book(ROSSI)).outcome == UNMATCHED


def test_a_mailbox_of_an_order_already_paid_is_a_possible_double_payment() -> None:
    decision = run(with_mailbox(), book(replace(ROSSI, status="paid")))
    assert decision.outcome == UNMATCHED and "possible double payment" in decision.reason


def test_a_code_and_a_mailbox_naming_different_orders_go_to_review() -> None:
    other = order("RLM22222", pec="g.bianchi@pec.it", name="Giulia Bianchi")
    decision = run(with_mailbox("RLM22222"), book(ROSSI, other))
    assert decision.outcome == UNMATCHED and "name different orders" in decision.reason


def test_a_code_naming_no_order_leaves_the_mailbox_to_decide() -> None:
    decision = run(with_mailbox("RLM99999"), book(ROSSI))
    assert decision.outcome == MATCHED and decision.order_codes == ("RLM95055",)


def test_the_mailbox_singles_out_the_order_a_code_names_among_same_price_neighbours() -> None:
    """GIVEN a code read exactly, a neighbour one digit away of the same price, and a payer
    and sender that point at neither; WHEN the causale names the mailbox of the order coded;
    THEN that order is paid (without it the typo guard sends the receipt to review)."""
    neighbour = order("RLM95056", name="Anna Verdi", email="anna@example.com")
    plain = fields("RLM95055", payer=None)
    assert run(plain, book(ROSSI, neighbour)).outcome == UNMATCHED
    named = with_mailbox("RLM95055", payer=None)
    decision = run(named, book(ROSSI, neighbour))
    assert decision.outcome == MATCHED and decision.order_codes == ("RLM95055",)


def test_a_userid_read_by_ocr_needs_the_sender_or_payer_to_confirm_it() -> None:
    found = with_mailbox(mailboxes=("mrossi01",), payer="Luca Neri")
    assert run(found, book(ROSSI), text_source="ocr").outcome == UNMATCHED
    confirmed = with_mailbox(mailboxes=("mrossi01",))  # payer Mario Rossi
    assert run(confirmed, book(ROSSI), text_source="ocr").outcome == MATCHED


def test_a_low_confidence_amount_cannot_single_out_an_order_by_itself() -> None:
    weak = with_mailbox()
    weak.confidence = {"amount": 0.5}
    decision = run(weak, book(ROSSI))
    assert decision.outcome == UNMATCHED and "too little confidence" in decision.reason
    # the same amount confirms an order a code names exactly
    coded = fields("RLM95055")
    coded.confidence = {"amount": 0.5}
    assert run(coded, book(ROSSI)).outcome == MATCHED


def test_a_low_confidence_amount_does_not_confirm_a_code_that_may_be_misread() -> None:
    weak = fields("RLM95055", repaired=("RLM95055",))
    assert run(weak, book(ROSSI)).outcome == MATCHED
    weak.confidence = {"amount": 0.45}
    assert run(weak, book(ROSSI)).outcome == UNMATCHED


def test_a_causale_naming_the_mailbox_is_read_and_matched_end_to_end() -> None:
    text = ("Bonifico SEPA eseguito\nBeneficiario: Lextel S.p.a.\n"
            "IBAN beneficiario: IT62 C032 6803 2030 5288 6541 770\n"
            "Causale: Rinnovo casella Mario.Rossi@pec.avvocati.it\nImporto: EUR 10,89\n")
    found = extract_fields(text)
    assert found.codes == [] and found.mailboxes == [PEC]
    decision = run(found, book(ROSSI))
    assert decision.outcome == MATCHED and decision.order_codes == ("RLM95055",)
    assert decision.inputs["mailboxes"] == [PEC]
    assert found.amount == Decimal("10.89")
