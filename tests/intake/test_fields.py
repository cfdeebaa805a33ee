"""Field extraction from text: one line per case, like a spec."""
from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from intake.fields import extract_fields, parse_amount
from tests.factories.receipts import STYLES, random_spec, receipt_lines

OURS = "IT62C0326803203052886541770"


@pytest.mark.parametrize("text, codes", [
    ("Causale: RLM95055", ["RLM95055"]),
    ("causale rlm 95055 rinnovo", ["RLM95055"]),
    ("ordine RLM-95055", ["RLM95055"]),
    ("ordine R.L.M. 95055", ["RLM95055"]),
    ("Rif. RLM_95055.", ["RLM95055"]),
    ("ordine RLM n. 95055", ["RLM95055"]),
    ("ordini RLM95055 e RLM95056", ["RLM95055", "RLM95056"]),
    ("RLM95056 ... RLM95055 ... RLM95055", ["RLM95055", "RLM95056"]),  # most mentioned first
    ("Ordine n. RLM 950 55", ["RLM95055"]),  # typed in groups
    ("RLM95055 2026", ["RLM95055"]),  # a whole code is never extended
    ("FIRLM95055 is not a code", []),
    ("RLM9505512345678 too long", []),
    ("nessun codice", []),
])
def test_codes(text: str, codes: list[str]) -> None:
    assert extract_fields(text).codes == codes


@pytest.mark.parametrize("raw, value", [
    ("10,89", "10.89"), ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("10.89", "10.89"),
    ("1'234,56", "1234.56"),
])
def test_amount_notations(raw: str, value: str) -> None:
    assert parse_amount(raw) == Decimal(value)


@pytest.mark.parametrize("text, amount", [
    ("Importo: 10,89", "10.89"),
    ("Importo EUR 10,89", "10.89"),
    ("Importo: € 10,89", "10.89"),
    ("Importo 1.234,56 EUR", "1234.56"),
    ("Importo: EUR 10,89\nCommissioni: EUR 1,00\nTotale addebitato: EUR 11,89", "10.89"),
    ("Commissioni: EUR 1,00\nTotale addebitato: EUR 11,89\nImporto: EUR 10,89", "10.89"),
    ("Importo del bonifico\n10,89 EUR\nCommissioni\n1,00 EUR", "10.89"),
    ("Importo disposto: 10,89 €   Costo operazione: 1,50 €", "10.89"),
    ("Saldo disponibile 2.345,67\nImporto 10,89", "10.89"),
    ("ho pagato 10,89 euro per l'ordine", "10.89"),
    ("Totale addebitato 11,89", None),  # fees may be inside: never taken for the amount
    ("Saldo contabile: 1.000,00", None),
    ("ore 10.30 del 14.03.2026", None),
    ("nessun importo", None),
])
def test_amount_is_the_transferred_one(text: str, amount: str | None) -> None:
    found = extract_fields(text).amount
    assert found == (Decimal(amount) if amount else None)


@pytest.mark.parametrize("text, iban", [
    (f"IBAN beneficiario: {OURS}", OURS),
    ("IBAN beneficiario: IT62 C 03268 03203 052886541770", OURS),
    ("IBAN ordinante: IT60X0542811101000000123456\nBeneficiario: Lextel\nIBAN: "
     "IT62 C032 6803 2030 5288 6541 770", OURS),
    ("Conto di addebito\nIT60 X054 2811 1010 0000 0123 456", None),  # only the payer's
    ("IBAN: IT62C0326803203052886541771", None),  # wrong check digits
    ("Coordinate IBAN: DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
])
def test_beneficiary_iban(text: str, iban: str | None) -> None:
    assert extract_fields(text).iban == iban


@pytest.mark.parametrize("text, ref", [
    ("CRO: 03069123456", "03069123456"),
    ("TRN: 0306912345678901", "0306912345678901"),
    ("C.R.O. 12345678901", "12345678901"),
    ("Identificativo operazione: 0306912345678901", "0306912345678901"),
    ("copia dell'assegno n. 0123456789", "0123456789"),
    ("Riferimento: nessuno", None),
])
def test_transfer_reference(text: str, ref: str | None) -> None:
    assert extract_fields(text).transfer_ref == ref


@pytest.mark.parametrize("text, day", [
    ("Data esecuzione: 14/03/2026", date(2026, 3, 14)),
    ("Data valuta: 15/03/2026\nData esecuzione: 14/03/2026", date(2026, 3, 14)),
    ("Data di esecuzione\n14.03.2026", date(2026, 3, 14)),
    ("disposto il 2026-03-14", date(2026, 3, 14)),
    ("Roma, 14 marzo 2026", date(2026, 3, 14)),
    ("Data di nascita: 01/01/1980", None),
    ("Data scadenza: 22/04/2027", None),
])
def test_payment_date(text: str, day: date | None) -> None:
    assert extract_fields(text).payment_date == day


@pytest.mark.parametrize("text, payer", [
    ("Ordinante: Mario Rossi", "Mario Rossi"),
    ("Ordinante: MARIO ROSSI  IBAN IT60X0542811101000000123456", "MARIO ROSSI"),
    ("Intestatario del conto\nGiulia Bianchi", "Giulia Bianchi"),
    ("Dati ordinante\nOrdinante Luca Verdi", "Luca Verdi"),
    ("Eseguito da: Anna De Luca", "Anna De Luca"),
    ("Distinti saluti\nPaolo Conti", "Paolo Conti"),
])
def test_payer(text: str, payer: str) -> None:
    assert extract_fields(text).payer == payer


@pytest.mark.parametrize("text, method", [
    ("Ricevuta di bonifico SEPA", "bonifico"),
    ("Bollettino postale - c/c postale", "bollettino"),
    ("copia dell'assegno bancario", "assegno"),
    ("pagamento con carta di credito", "carta"),
    ("ricevuta", "unknown"),
])
def test_method(text: str, method: str) -> None:
    assert extract_fields(text).method == method


@pytest.mark.parametrize("style", STYLES)
def test_every_bank_layout_gives_the_ground_truth(style: str) -> None:
    """GIVEN 40 random receipts in one layout WHEN read THEN every field is the truth."""
    rng = random.Random(style)
    for _ in range(40):
        code = f"RLM{rng.randint(10000, 99999)}"
        spec = random_spec(rng, code, Decimal(rng.randint(500, 250000)) / 100, style=style)
        fields = extract_fields("\n".join(receipt_lines(spec)))
        assert fields.codes == [code]
        assert fields.amount == spec.amount
        assert fields.payment_date == spec.paid_on
        assert fields.payer == spec.payer
        assert fields.method == spec.method
        if style not in ("poste", "assegno"):
            assert fields.iban == OURS
