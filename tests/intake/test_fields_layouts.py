"""Layouts the generators do not make: other banks' words, tables, English apps, letters.
Each case is a whole receipt as text, with the fields a person would read from it."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from intake.fields import extract_fields

OURS = "IT62C0326803203052886541770"

CASES = {
    "bancoposta": ("""BancoPosta - Ricevuta Bonifico SEPA
Dati dell'ordinante
Nome e cognome: Anna Verdi
IBAN: IT02 A030 1503 2000 0000 3517 230
Dati del beneficiario
Beneficiario: LEXTEL SPA
IBAN: IT62 C032 6803 2030 5288 6541 770
Importo: € 10,89
Commissione: € 1,00
Data di addebito: 14/03/2026
Causale: RINNOVO PEC RLM95055
CRO / TRN: 1101260730123456
""", dict(codes=["RLM95055"], amount="10.89", iban=OURS, payment_date=date(2026, 3, 14),
          payer="Anna Verdi", transfer_ref="1101260730123456", method="bonifico")),
    "table_columns": ("""Banca Esempio - Esito disposizione
Ordinante: Carlo Neri
Beneficiario: Lextel S.p.a. IBAN IT62C0326803203052886541770
Importo Commissioni Totale addebitato
10,89 1,50 12,39
Data esecuzione 14/03/2026
Causale RLM95055
""", dict(codes=["RLM95055"], amount="10.89", iban=OURS, payment_date=date(2026, 3, 14),
          payer="Carlo Neri")),
    "english_app": ("""Transfer details
Amount €10.89
To Lextel S.p.a.
IBAN IT62 C032 6803 2030 5288 6541 770
Reference RLM95055
Date 14 Mar 2026
""", dict(codes=["RLM95055"], amount="10.89", iban=OURS, payment_date=date(2026, 3, 14))),
    "negative_debit": ("""ING - Movimento
Bonifico a Lextel S.p.a.
Importo: -10,89 EUR
Data contabile: 16/03/2026
Data operazione: 14/03/2026
Descrizione: RLM 95055
""", dict(codes=["RLM95055"], amount="-10.89", payment_date=date(2026, 3, 14))),
    "letter_body": ("""Spett.le Amministrazione,
vi comunico di aver effettuato in data 14/03/2026 il bonifico di € 10,89 con CRO 12345678901
relativo all'ordine RLM95055 per il rinnovo della mia casella PEC.
Cordiali saluti
Avv. Giorgio Gialli
""", dict(codes=["RLM95055"], amount="10.89", transfer_ref="12345678901",
          payment_date=date(2026, 3, 14), payer="Avv. Giorgio Gialli")),
    "bollettino_td": ("""CONTI CORRENTI POSTALI - Ricevuta di Versamento
BancoPosta
sul C/C n. 12345678 di Euro 10,89
IMPORTO IN LETTERE dieci/89
INTESTATO A LEXTEL S.P.A.
CAUSALE RLM95055
ESEGUITO DA ROSSI MARIA
BOLLO DELL'UFFICIO POSTALE 14/03/2026
""", dict(codes=["RLM95055"], amount="10.89", method="bollettino", payer="ROSSI MARIA")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_other_layouts(name: str) -> None:
    text, expected = CASES[name]
    fields = extract_fields(text)
    got = {key: getattr(fields, key) for key in expected}
    want = {key: Decimal(v) if key == "amount" else v for key, v in expected.items()}
    assert got == want
    # a movement list prints the debit with a minus: read as it is, and doubted
    assert [d.kind for d in fields.doubts] == (["negative_amount"] if name == "negative_debit"
                                               else [])


def test_two_column_layout_keeps_payer_and_beneficiary_apart() -> None:
    """GIVEN a receipt printed in two columns (payer left, beneficiary right) as pdfplumber
    reads it, one row per line WHEN read THEN the beneficiary IBAN is the right-hand one and
    the header row is not taken for the payer's name."""
    text = """ORDINANTE BENEFICIARIO
Mario Rossi Lextel S.p.a.
IBAN IT60X0542811101000000123456 IBAN IT62C0326803203052886541770
Importo Commissioni
EUR 10,89 EUR 1,00
Data esecuzione Data valuta
14/03/2026 15/03/2026
Causale TRN
RLM95055 rinnovo 0306912345678901"""
    fields = extract_fields(text)
    assert (fields.iban, fields.amount, fields.payment_date, fields.codes) == (
        OURS, Decimal("10.89"), date(2026, 3, 14), ["RLM95055"])
    assert fields.payer != "BENEFICIARIO"
