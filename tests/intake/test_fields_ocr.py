"""Field extraction from OCR text: what Tesseract really gets wrong, as a table.

Each row: the text OCR produced -> the codes (and whether they were repaired) or the amount
the extraction must give. Text-layer behaviour is covered by test_fields.py.
"""
from __future__ import annotations

import random
from decimal import Decimal

import pytest

from intake.fields import extract_fields, find_amount_in_words, words_to_number
from tests.factories.scans import amount_words, number_words, slip_lines

# --- order codes -----------------------------------------------------------------------------

REPAIRS = [
    # (OCR text, [(code, repaired)] in rank order)
    ("Causale: RLM95055", [("RLM95055", False)]),
    ("Causale: RLM95O55", [("RLM95055", True)]),           # O for 0
    ("Causale: RLM9S055", [("RLM95055", True)]),           # S for 5
    ("Causale: RLMl2345", [("RLM12345", True)]),           # l for 1
    ("Causale: RLM 1234B", [("RLM12348", True), ("RLM1234", True)]),  # B for 8
    ("Causale: RLM|2345 rinnovo", [("RLM12345", True)]),   # | for 1
    ("Motivazione: rim 47381", [("RLM47381", True)]),      # lowercase l read as i
    ("Causale R1M 47381", [("RLM47381", True)]),           # L read as 1
    ("Causale R L M 9 5 0 5 5 grazie", [("RLM95055", True)]),  # spaced out
    ("Descrizione\nIRLM 40549 rinnovo", [("RLM40549", True)]),  # a margin read as I
    ("Causale: RLM-95055.", [("RLM95055", False)]),
    ("Causale: pagamento ordine RLM\n95055", [("RLM95055", False)]),  # code, newline, digits
    # a causale wrapped inside the code: the whole code, never the fragment (issue 13)
    ("Causale: ordine RLM950\n55 rinnovo", [("RLM95055", False)]),
]


@pytest.mark.parametrize("text,expected", REPAIRS, ids=[r[0] for r in REPAIRS])
def test_ocr_confusions_in_codes_are_repaired(text: str, expected: list) -> None:
    candidates = extract_fields(text).code_candidates
    assert [(c.code, c.repaired) for c in candidates] == expected
    for candidate in candidates:
        assert (candidate.confidence < 0.95) == candidate.repaired


NOT_CODES = [
    "RLMBOSS",                   # no digits at all: a word, not a code
    "Causale: RLMSOSO",          # letters mostly: not repaired into digits
    "Causale: ARLM95055",        # glued to a word
    "Causale: XRIM 12345",
    "Causale: XIRLM 12345",
    "Totale RIM. 5",             # too short
]


@pytest.mark.parametrize("text", NOT_CODES)
def test_letters_are_not_repaired_into_codes_where_unsafe(text: str) -> None:
    assert extract_fields(text).codes == []


def test_a_letter_glued_to_the_digits_gives_both_readings() -> None:
    candidates = extract_fields("Causale RLM95055S").code_candidates
    assert [(c.code, c.repaired) for c in candidates] == [("RLM950555", True),
                                                           ("RLM95055", True)]
    assert candidates[0].confidence > candidates[1].confidence


def test_an_exact_mention_outranks_a_repaired_one_seen_first() -> None:
    codes = extract_fields("rif. RLM4O712\nCausale: RLM40712 e RLM40712").codes
    assert codes == ["RLM40712"]  # the same order: one candidate, read exactly


def test_cro_with_a_zero_for_the_o() -> None:
    assert extract_fields("C.R.0. 69276192143").transfer_ref == "69276192143"


# --- amounts in words (postal slips) -------------------------------------------------------

WORDS = [("dieci", 10), ("ventuno", 21), ("trentotto", 38), ("centottantuno", 181),
         ("duecentotre", 203), ("mille", 1000), ("milleduecentottantotto", 1288),
         ("duemilacinquecento", 2500), ("centomila", 100000), ("novecentonovantanovemila"
                                                               "novecentonovantanove", 999999),
         ("DIECI", 10), ("dieci euro", None), ("treventi", None), ("dlecl", None), ("", None)]


@pytest.mark.parametrize("words,value", WORDS)
def test_italian_number_words(words: str, value: int | None) -> None:
    assert words_to_number(words) == value


def test_number_words_round_trip() -> None:
    rng = random.Random(1)
    for n in list(range(0, 1200)) + [rng.randrange(1_000_000) for _ in range(300)]:
        assert words_to_number(number_words(n)) == n


SLIPS = [
    # figures as OCR read them, words as OCR read them -> amount, confidence
    ("10,89", "DIECI/89", Decimal("10.89"), 1.0),       # agree
    # figures and words disagree: the figures stay the reading, a doubt holds both values
    # (tests/intake/test_fields_evidence.py)
    ("10,39", "DIECI/89", Decimal("10.39"), None),
    ("10,89", "DlECl/89", Decimal("10.89"), None),      # misread words: the figures stand
    ("121,78", "CENTOVENTUNO/78", Decimal("121.78"), 1.0),
]


@pytest.mark.parametrize("figures,words,amount,confidence", SLIPS)
def test_slip_amount_is_cross_checked_with_words(figures: str, words: str, amount: Decimal,
                                                 confidence: float | None) -> None:
    text = (f"BOLLETTINO POSTALE\nImporto in euro: {figures}\n"
            f"Importo in lettere: {words}\nEseguito da: Mario Rossi")
    fields = extract_fields(text)
    assert fields.amount == amount
    if confidence is not None:
        assert fields.evidence["amount"].confidence == confidence


def test_generated_slips_carry_their_amount_in_words() -> None:
    from tests.factories.receipts import ReceiptSpec
    spec = ReceiptSpec(style="poste", amount=Decimal("1288.05"))
    lines = slip_lines(spec)
    assert "Importo in lettere: MILLEDUECENTOTTANTOTTO/05" in lines
    found = find_amount_in_words(lines)
    assert found is not None and found[0] == Decimal("1288.05")
    assert amount_words(Decimal("0.50")) == "ZERO/50"


# --- IBANs as OCR prints them --------------------------------------------------------------

IBANS = [
    "IBAN beneficiario: IT62 C032 6803 2030 5288 6541 770",
    "IBAN beneficiario: IT62.C032 6803 2030 5288 6541 770",   # a speckle between groups
    "IBAN beneficiario: IT62:C032 6803 2030,5288 6541 770.",
    "IBAN beneficiario [T62 C032 6803 2030 5288 6541 770",     # I read as [
    "IBAN beneficiario |T62 C032 6803 2030 5288 6541 770",
]


@pytest.mark.parametrize("text", IBANS)
def test_ocr_noise_inside_an_iban_is_tolerated(text: str) -> None:
    assert extract_fields(text).iban == "IT62C0326803203052886541770"


def test_a_misread_beneficiary_label_still_names_the_beneficiary() -> None:
    text = ("Conto di addebito: IT60 X054 2811 1010 0000 0123 456\n"
            "Atavore di: Lextel Sp.a.\n"  # 'A favore di' as OCR read it
            "Coordinate IBAN: IT62 C032 6803 2030 5288 6541 770")
    assert extract_fields(text).iban == "IT62C0326803203052886541770"


def test_a_misread_iban_with_a_bad_checksum_is_not_taken() -> None:
    assert extract_fields("IBAN beneficiario: IT62 C032 6803 2030 5288 6541 771").iban is None


# --- references ------------------------------------------------------------------------------

REFERENCES = [
    ("C.R.0, 53620493345 .", "53620493345"),                                 # 0 for O, comma
    ("C.R.0O. 09505421969", "09505421969"),                                  # O read twice
    ("CRO03069123456", "03069123456"),                                       # the 0 is kept
    ("Identificativo operazione: 15825488931 24831", "1582548893124831"),    # a space inside
    ("CRO: 03069123456 del 12/03/2026", "03069123456"),                      # words follow
    ("TRN: 0306912345678901 10,89", "0306912345678901"),                     # an amount follows
]


@pytest.mark.parametrize("text,reference", REFERENCES)
def test_ocr_references(text: str, reference: str) -> None:
    assert extract_fields(text).transfer_ref == reference


# --- amounts as OCR prints them ----------------------------------------------------------------

AMOUNTS = [
    ("Importo: EUR 1O,89", Decimal("10.89"), 0.78),          # O for 0: repaired, less sure
    ("Importo: EUR 1.2B4,S6", Decimal("1284.56"), 0.78),     # B for 8, S for 5
    ("Importo: EUR 10,89", Decimal("10.89"), 0.97),          # nothing to repair
    ("Importo: EUR OO,OO", None, None),                      # no real digit: not an amount
    ("Importo: IS,OO", None, None),
]


@pytest.mark.parametrize("text,amount,confidence", AMOUNTS)
def test_ocr_amounts(text: str, amount: Decimal | None, confidence: float | None) -> None:
    fields = extract_fields(text)
    assert fields.amount == amount
    if confidence is not None:
        assert fields.evidence["amount"].confidence == confidence
        assert fields.evidence["amount"].snippet == text  # the evidence is what was read
