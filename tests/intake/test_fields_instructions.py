"""A request to pay is not a payment: customers send a print or a screenshot of the order's
booking page ("importo da versare", the coordinates to pay to) in place of the bank's receipt.
The guide says such documents are not valid proof, so they never count as a bank document."""
from __future__ import annotations

import random
from decimal import Decimal

import pytest

from config.settings import LimitSettings
from intake.fields import extract_fields
from intake.message import parse_mail
from intake.reading import BANK_DOCUMENT, CLAIM, read_message
from tests.factories.receipts import (
    MailSpec,
    ReceiptSpec,
    build_email,
    random_spec,
    receipt_lines,
    receipt_pdf,
)

BOOKING_PAGE = [
    "Operazione completata con successo",
    "L'ordine di rinnovo della casella è stato confermato con successo.",
    "Il codice identificativo dell'ordine è RLM95055.",
    "Riepilogo Pagamento",
    "Importo da versare: 10,89",
    "Da versare per mezzo: BONIFICO BANCARIO",
    "Intestatario: Lextel S.p.a.",
    "IBAN: IT62 C 03268 03203 052886541770",
]


@pytest.mark.parametrize("line", [
    "Importo da versare: 10,89",
    "Totale da pagare EUR 21,78",
    "Coordinate bancarie per effettuare il versamento:",
    "Modalità scelta: Bonifico",
    "Il Suo ordine RLM95055 è stato confermato",
    "Importo ancora da saldare 10,89 €",
])
def test_each_wording_of_a_payment_still_owed_is_instructions(line: str) -> None:
    fields = extract_fields(f"Rinnovo casella PEC\nOrdine RLM95055\n{line}\n")
    assert fields.instructions is not None and "line 3" in fields.instructions


def test_the_booking_page_keeps_its_fields_for_the_reviewer() -> None:
    fields = extract_fields("\n".join(BOOKING_PAGE))
    assert fields.instructions is not None
    assert fields.codes == ["RLM95055"] and fields.amount == Decimal("10.89")


def test_a_customer_causale_with_the_same_words_is_the_customers_own() -> None:
    fields = extract_fields("Bonifico eseguito\nCausale: saldo importo da pagare RLM95055\n"
                            "Importo: 10,89 EUR\nCRO 12345678901\n")
    assert fields.instructions is None


def test_no_generated_bank_receipt_reads_as_instructions() -> None:
    """Every layout of the factories, many random receipts: none is taken for instructions
    (a rule that flagged receipts would send every customer to review)."""
    rng = random.Random(7)
    for index in range(300):
        spec = random_spec(rng, f"RLM{10000 + index}", Decimal(rng.randint(500, 20000)) / 100)
        assert extract_fields("\n".join(receipt_lines(spec))).instructions is None, spec


def _evidence(*attachments: tuple[str, bytes]) -> tuple[str, list[str]]:
    raw = build_email(MailSpec(body="In allegato il pagamento.", attachments=[
        (name, "application/pdf", data) for name, data in attachments]))
    reading = read_message(parse_mail(raw), LimitSettings())
    return reading.evidence, reading.problems


def test_a_message_whose_only_document_is_the_booking_page_is_a_claim() -> None:
    evidence, problems = _evidence(("ordine.pdf", receipt_pdf(ReceiptSpec(), BOOKING_PAGE)))
    assert evidence == CLAIM
    assert any("ordine.pdf: payment instructions, not a bank receipt" in p for p in problems)


def test_the_bank_receipt_beside_the_booking_page_is_still_the_proof() -> None:
    spec = ReceiptSpec(codes=("RLM95055",), amount=Decimal("10.89"))
    evidence, _ = _evidence(("ordine.pdf", receipt_pdf(spec, BOOKING_PAGE)),
                            ("bonifico.pdf", receipt_pdf(spec)))
    assert evidence == BANK_DOCUMENT
