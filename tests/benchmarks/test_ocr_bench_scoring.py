"""How ocr_bench scores one extract result against a document's truth."""
from __future__ import annotations

from benchmarks.heldout import Truth
from benchmarks.ocr_bench import Item, KindResult, Reading, score

TRUTH = Truth(codes=("RLM12345",), amount="10.89", iban="IT62C0326803203052886541770",
              reference="TRN1", references=("TRN1", "CRO1"), payment_date="2026-03-14",
              payer="Mario Rossi")


def result(**changes):
    base = {"codes": ["RLM12345"], "amount": "10.89", "iban": "IT62C0326803203052886541770",
            "transfer_ref": "CRO1", "payment_date": "2026-03-14", "payer": "Avv. MARIO ROSSI",
            "error": None}
    return {**base, **changes}


def test_a_right_reading_is_right_in_every_field_and_mailboxes_are_na_without_the_key():
    assert score(TRUTH, result()) == {"code": True, "amount": True, "iban": True, "ref": True,
                                      "date": True, "payer": True, "mbox": None}


def test_a_fragment_beside_the_code_or_a_missing_code_is_wrong():
    assert not score(TRUTH, result(codes=["RLM12345", "RLM123"]))["code"]
    assert not score(TRUTH, result(codes=[]))["code"]
    empty = Truth(codes=(), amount="10.89", iban=None, reference=None)
    assert score(empty, result(codes=[]))["code"]


def test_a_value_where_the_document_prints_none_is_wrong():
    none = Truth(codes=("RLM12345",), amount="10.89", iban=None, reference=None)
    outcome = score(none, result(iban="IT62C0326803203052886541770", transfer_ref="0612345"))
    assert outcome["iban"] is False and outcome["ref"] is False
    assert score(none, result(iban=None, transfer_ref=None))["ref"]


def test_calibration_counts_only_values_reported_at_high_confidence():
    item = Item("dev", "scan", "x.pdf", b"", TRUTH, "", 1, 1)
    confidence = {"codes": 0.95, "amount": 0.97, "iban": 0.5, "transfer_ref": None,
                  "payment_date": 0.99, "payer": 0.2}
    kind = KindResult("dev", "scan")
    kind.add(Reading(item, result(amount="16.89", confidence=confidence), 2.0, 0.2, 1.0, 0.9))
    assert (kind.confident, kind.confident_right, kind.confident_wrong_amounts) == (3, 2, 1)
    assert kind.page_seconds == [2.0]
    assert abs(kind.outside() - 0.3 / 1.2) < 1e-9
