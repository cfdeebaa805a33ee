"""Confidence that means something (issue 13): where a value came from and what checks it,
and two OCR engines' readings of one page combined per field."""
from __future__ import annotations

from decimal import Decimal

from intake.confidence import amount_check, assign, combine_engines, doubts
from intake.fields import AMOUNT_DISAGREES, extract_fields

RECEIPT = """Banca Intesa Sanpaolo - Internet Banking
RICEVUTA DI BONIFICO SEPA
Data esecuzione: 14/03/2026
Ordinante: Mario Rossi
Beneficiario: Lextel S.p.a.
IBAN beneficiario: IT62 C032 6803 2030 5288 6541 770
Causale: Rinnovo PEC ordine RLM95055
Importo: EUR {amount}
Commissioni: EUR 1,00
Totale addebitato: EUR {total}
TRN: 0306912345678901
"""


def receipt(amount: str = "53,80", total: str = "54,80") -> str:
    return RECEIPT.format(amount=amount, total=total)


def test_a_text_layer_value_keeps_its_label_confidence() -> None:
    fields = assign(extract_fields(receipt()), receipt(), "text_layer")
    assert fields.confidence["amount"] >= 0.9 and fields.confidence["codes"] == 1.0
    assert fields.confidence["iban"] >= 0.9


def test_one_engine_alone_is_never_sure_of_a_digit_unless_a_check_confirms_it() -> None:
    text = receipt()
    fields = assign(extract_fields(text), text, "ocr")
    assert fields.confidence["codes"] < 0.9 and fields.confidence["transfer_ref"] < 0.9
    # amount + fees = total printed: the amount is confirmed
    assert amount_check(text.split("\n"), Decimal("53.80")) is True
    assert fields.confidence["amount"] >= 0.9


def test_a_digit_confusion_is_never_a_confident_amount() -> None:
    """GIVEN Tesseract reads 59,80 where the page says 53,80 (the total says 54,80); WHEN
    one engine alone read it; THEN the total contradicts it and its confidence is low."""
    text = receipt(amount="59,80")
    fields = assign(extract_fields(text), text, "ocr")
    assert fields.amount == Decimal("59.80")
    assert amount_check(text.split("\n"), Decimal("59.80")) is False
    assert fields.confidence["amount"] < 0.6


def test_agreement_raises_the_confidence() -> None:
    text = receipt()
    fields = combine_engines(text, text.replace("Intesa", "lntesa"))
    assert fields.codes == ["RLM95055"] and fields.confidence["codes"] >= 0.95
    assert fields.confidence["transfer_ref"] >= 0.9 and not fields.disputed


def test_disagreement_on_the_amount_is_disputed_with_both_readings() -> None:
    """Neither reading is confirmed by the total (it is missing): the amount is disputed,
    its confidence low, and a doubt sends the receipt to review with both values."""
    first = receipt("59,80").replace("Totale addebitato: EUR 54,80\n", "")
    second = receipt("53,80").replace("Totale addebitato: EUR 54,80\n", "")
    fields = combine_engines(first, second)
    assert fields.disputed["amount"] == ["59.80", "53.80"]
    assert fields.confidence["amount"] < 0.5
    assert any(d.kind == AMOUNT_DISAGREES and "59,80" in d.reason and "53,80" in d.reason
               for d in fields.doubts)


def test_a_cross_check_settles_a_disagreement() -> None:
    fields = combine_engines(receipt("59,80"), receipt("53,80"))
    assert fields.amount == Decimal("53.80") and "amount" not in fields.disputed
    assert not any(d.kind == AMOUNT_DISAGREES for d in fields.doubts)
    assert fields.confidence["amount"] < 0.9  # one engine misread it: not sure either


def test_a_code_one_engine_alone_read_stays_a_less_sure_candidate() -> None:
    fields = combine_engines(receipt(), receipt().replace("RLM95055", "RLM95035"))
    assert set(fields.codes) == {"RLM95055", "RLM95035"}
    assert fields.confidence["codes"] < 0.9 and "codes" in fields.disputed


def test_doubts_say_when_the_second_engine_is_worth_running() -> None:
    assert doubts(receipt()) == []
    assert "no order code" in doubts(receipt().replace("RLM95055", ""))
    assert "amount does not equal total minus fees" in doubts(receipt(amount="59,80"))
    assert "low OCR confidence" in doubts(receipt(), page_confidence=0.6)
    broken_iban = receipt().replace("6541 770", "6541 771")
    assert "an IBAN printed but none read (checksum)" in doubts(broken_iban)
