"""The amount is trusted only when its readings agree, and a document that says the money did
not move (reversed, refused, pending) or shows a negative amount is doubted (issue 10)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from intake.fields import (
    AMOUNT_DISAGREES,
    NEGATIVE,
    NOT_EXECUTED,
    extract_fields,
    find_amount_in_words,
    fold_digits,
)

BANK = ("Banca Sella - Conferma bonifico\nBeneficiario: Lextel S.p.a.\n"
        "IBAN beneficiario: IT62 C032 6803 2030 5288 6541 770\nCausale: RLM95055\n")


def kinds(text: str) -> list[str]:
    return [d.kind for d in extract_fields(text).doubts]


def test_a_reversal_is_negative_and_not_executed() -> None:
    fields = extract_fields(BANK + "STORNO BONIFICO\nImporto stornato: -10,89 EUR\n")
    assert fields.amount == Decimal("-10.89")
    assert {d.kind for d in fields.doubts} == {NEGATIVE, NOT_EXECUTED}
    assert any("-10,89" in d.reason for d in fields.doubts)


@pytest.mark.parametrize("line", [
    "Esito: bonifico respinto dalla banca del beneficiario",
    "Il bonifico non è stato eseguito",
    "Operazione annullata su richiesta del cliente",
    "Bonifico revocato",
    "Stato: in attesa",
    "Disposizione da autorizzare",
    "Bonifico prenotato per il 20/03/2026",
    "Bonifico in attesa di esecuzione",
    "Status: pending",
    "Status: rejected",
    "Esito: cancelled",
])
def test_transfers_the_bank_did_not_execute(line: str) -> None:
    assert kinds(BANK + "Importo: 10,89 EUR\n" + line) == [NOT_EXECUTED]


@pytest.mark.parametrize("line", [
    "Bonifico eseguito il 14/03/2026",
    "In attesa di un Vostro cortese riscontro, porgo distinti saluti",
    "L'ordine non è revocabile",
    "Data prenotazione: 13/03/2026",
    "Action: failed",                      # a bounce's words, not a bank's
    "X-Failed-Recipients: a@example.com",
    "Your order is pending shipment",
])
def test_ordinary_words_are_no_doubt(line: str) -> None:
    assert kinds(BANK + "Importo: 10,89 EUR\n" + line) == []


def test_trailing_minus_is_negative() -> None:
    fields = extract_fields(BANK + "Importo 10,89-\n")
    assert fields.amount == Decimal("-10.89") and kinds(BANK + "Importo 10,89-\n") == [NEGATIVE]


def test_figures_and_words_must_agree() -> None:
    fields = extract_fields(BANK + "Importo: EUR 1,00\nin lettere: dieci/89\n")
    assert fields.amount == Decimal("1.00")
    [doubt] = fields.doubts
    assert doubt.kind == AMOUNT_DISAGREES and "1,00" in doubt.reason and "10,89" in doubt.reason
    assert kinds(BANK + "Importo: EUR 10,89\nin lettere: dieci/89\n") == []


@pytest.mark.parametrize("text,value", [
    ("in lettere: dieci/89", "10.89"),
    ("Euro dieci/89", "10.89"),
    ("dieci euro e ottantanove centesimi", "10.89"),
    ("(dieci euro e ottantanove)", "10.89"),
    ("dieci euro e 89", "10.89"),
    ("importo in lettere: centoventuno euro", "121.00"),
    ("euro milleduecentottantotto/05", "1288.05"),
])
def test_amounts_in_words(text: str, value: str) -> None:
    found = find_amount_in_words([text])
    assert found is not None and found[0] == Decimal(value)


@pytest.mark.parametrize("text", ["ho pagato i dieci euro del rinnovo",
                                  "commissioni: due euro e cinquanta",
                                  "tre euro e cinquanta di spese"])
def test_prose_and_fees_in_words_are_not_the_amount(text: str) -> None:
    assert find_amount_in_words([text]) is None


def test_total_minus_fees_must_give_the_amount() -> None:
    ok = BANK + "Importo: 10,89\nCommissioni: 1,00\nTotale addebitato: 11,89\n"
    bad = BANK + "Importo: 10,89\nCommissioni: 1,00\nTotale addebitato: 1,89\n"
    assert kinds(ok) == []
    assert kinds(bad) == [AMOUNT_DISAGREES]
    assert "1,89" in extract_fields(bad).doubts[0].reason


def test_an_amount_printed_twice_must_be_the_same() -> None:
    twice = BANK + "Importo bonifico: 10,89\nRicevuta\nImporto: 10,89\n"
    differ = BANK + "Importo bonifico: 10,89\nRicevuta\nImporto: 1,89\n"
    assert kinds(twice) == []
    assert kinds(differ) == [AMOUNT_DISAGREES]


def test_other_digits_are_read_as_ascii() -> None:
    assert fold_digits("ＲＬＭ９５０５５ ٩٥٠٥٥ ९५") == "RLM95055 95055 95"
    fields = extract_fields("Causale: RLM９５０５５\nImporto: １０,８９ EUR")
    assert fields.codes == ["RLM95055"] and fields.amount == Decimal("10.89")


@pytest.mark.parametrize("line", ["Tipo: bonifico programmato", "Pagamento programmato",
                                  "Disposizione in data futura"])
def test_a_scheduled_transfer_is_not_executed_yet(line: str) -> None:
    assert kinds(BANK + "Importo: 10,89 EUR\n" + line) == [NOT_EXECUTED]
