"""What customers write about what they paid (issue 13): per-order amounts beside a total,
totals that contradict a bank's figures, amounts in words with accents."""
from __future__ import annotations

from decimal import Decimal

import pytest

from intake.body import body_fields
from intake.confidence import assign
from intake.fields import extract_fields, find_amount_in_words


def _amount_and_confidence(text: str) -> tuple[Decimal | None, float | None]:
    fields = assign(body_fields(text), text, "email_body")
    return fields.amount, fields.confidence.get("amount")


def test_amounts_listed_per_order_add_up_to_the_total_paid() -> None:
    """GIVEN a customer who lists each order with its price (the same price twice) and the
    sum WHEN the body is read THEN the amount is the sum, never one order's price."""
    text = ("Buonasera,\nvi comunico di aver pagato con una sola disposizione:\n"
            "* RLM40017 -> euro 30,50\n* RLM40018 -> euro 30,50\n"
            "complessivamente 61,00 euro.\nSaluti\nPiero Gallo\n")
    amount, confidence = _amount_and_confidence(text)
    assert amount == Decimal("61.00")
    assert confidence is not None and confidence >= 0.9


def test_different_prices_and_their_sum() -> None:
    text = ("Salve, ordine RLM11111 importo 20,00 e ordine RLM22222 importo 15,50; "
            "in tutto € 35,50 pagati oggi.\nGrazie\n")
    amount, _ = _amount_and_confidence(text)
    assert amount == Decimal("35.50")


def test_several_orders_one_named_price_and_the_total() -> None:
    """GIVEN two orders, one price quoted and a larger total THEN the total, not sure."""
    text = ("Ho pagato gli ordini RLM33333 (rinnovo da 24,40) e RLM44444, totale di "
            "€ 48,80.\nCordiali saluti\n")
    amount, confidence = _amount_and_confidence(text)
    assert amount == Decimal("48.80")
    assert confidence is not None and confidence < 0.9


def test_a_total_with_fees_is_not_what_the_order_cost() -> None:
    """GIVEN a body that quotes a bank's amount, its fee and the total debited THEN the
    amount stays the transferred one."""
    text = ("Vi inoltro i dati del bonifico per l'ordine RLM55555:\nImporto: 40,00\n"
            "Commissioni: 1,50\nTotale: 41,50\n")
    assert body_fields(text).amount == Decimal("40.00")


def test_a_total_that_contradicts_the_amount_leaves_it_unsure() -> None:
    text = "Ordine RLM66666, importo bonifico 40,00 euro, totale 52,00.\n"
    amount, confidence = _amount_and_confidence(text)
    assert amount == Decimal("40.00")
    assert confidence is not None and confidence < 0.9


@pytest.mark.parametrize("text,value", [
    ("ho disposto ventitré euro e dieci centesimi", "23.10"),
    ("ho disposto ventitre' euro e dieci centesimi", "23.10"),
    ("pagati centotrentatré euro e 40", "133.40"),
    ("EURO TRENTATRÉ/00", "33.00"),
])
def test_amounts_in_words_with_a_final_accent(text: str, value: str) -> None:
    found = find_amount_in_words([text])
    assert found is not None and found[0] == Decimal(value)


def test_an_accented_amount_in_words_in_a_customers_body() -> None:
    text = ("Gentili signori,\nho versato sessantatré euro e quindici centesimi per "
            "l'ordine RLM77777.\nCordialità\nAnna Neri\n")
    assert body_fields(text).amount == Decimal("63.15")
    assert extract_fields("Nessun importo: perché no.").amount is None


@pytest.mark.parametrize("quote", [
    "Il giorno 05/05/2026 alle ore 09:18, Ufficio Ordini <ordini@example.it>\nha scritto:\n",
    "From: Ufficio Ordini\nSent: Tuesday, May 5, 2026 9:18 AM\nTo: Mario Bianchi\n"
    "Subject: Ordine RLM99999\n",
    "Da: Ufficio Ordini\nInviato: martedì 5 maggio 2026 09:18\nOggetto: Ordine RLM99999\n",
])
def test_quoted_messages_whatever_the_mail_client(quote: str) -> None:
    """GIVEN a reply whose quoted message (no '>' marks) holds the provider's order, price
    and IBAN THEN only the customer's own code and amount are read."""
    text = ("Buongiorno, ho pagato l'ordine RLM12345 con bonifico di 30,00 euro.\n\n" + quote
            + "\nGentile cliente, l'ordine RLM99999 costa 45,00 EUR.\n"
            "IBAN IT62 C032 6803 2030 5288 6541 770\n")
    fields = body_fields(text)
    assert fields.codes == ["RLM12345"] and fields.amount == Decimal("30.00")
    assert fields.iban is None


def test_a_body_line_that_starts_like_a_header_is_still_the_customers() -> None:
    text = "Da: Mario Bianchi, ordine RLM12345\nA: voi, importo 30,00 euro\n"
    assert body_fields(text).codes == ["RLM12345"]


@pytest.mark.parametrize("text,value", [
    ("Ordini RLM11111 e RLM22222 pagati: 22,55 euro ciascuno, 45,10 in totale.", "45.10"),
    ("Ho pagato ventidue euro e cinquantacinque per RLM11111.", "22.55"),
    ("Pagamento RLM11111 effettuato.\nStudio Rossi Srl - Capitale sociale € 10.000,00 i.v.",
     None),
])
def test_more_of_what_customers_write(text: str, value: str | None) -> None:
    amount = body_fields(text).amount
    assert amount == (Decimal(value) if value else None)


def test_times_and_days_written_with_a_dot_are_not_money() -> None:
    """GIVEN a customer who writes the day and time with dots beside the amount THEN the
    amount, labelled by the words before them."""
    fields = body_fields("Ho pagato RLM12345 il 12.03 alle 10.30, 30,00 euro.\n")
    assert fields.amount == Decimal("30.00")
    assert body_fields("Importo del 12.50 EUR\n").amount == Decimal("12.50")
