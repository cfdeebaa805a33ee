"""A sample day at the administration: an order book and an inbox of what customers send,
each item with the outcome a careful person would reach. Used by the demo and the tests."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.factories.receipts import (
    MailSpec,
    OrderSpec,
    ReceiptSpec,
    body_only_email,
    build_email,
    image_only_pdf,
    orders_csv,
    receipt_email,
    receipt_pdf,
)


@dataclass(frozen=True)
class InboxItem:
    filename: str
    data: bytes
    expected_status: str  # matched | unmatched | duplicate | quarantined | pec_receipt
    expected_orders: tuple[str, ...]
    story: str


ORDERS = [
    OrderSpec("RLM95055", Decimal("10.89"), "Mario Rossi", "mario.rossi@example.com"),
    OrderSpec("RLM95056", Decimal("21.78"), "Giulia Bianchi", "giulia.bianchi@example.com",
              years=2),
    OrderSpec("RLM95057", Decimal("10.89"), "Luca Esposito", "luca.esposito@example.com"),
    OrderSpec("RLM95058", Decimal("32.67"), "Francesca Romano", "f.romano@example.com",
              years=3),
    OrderSpec("RLM95059", Decimal("10.89"), "Marco Colombo", "marco.colombo@example.com"),
    OrderSpec("RLM95060", Decimal("10.89"), "Elena Ricci", "elena.ricci@example.com"),
    OrderSpec("RLM95061", Decimal("10.89"), "Paolo Greco", "paolo.greco@example.com"),
]


def inbox_items() -> list[InboxItem]:
    rossi = ReceiptSpec(codes=("RLM95055",), payer="Mario Rossi", style="intesa",
                        reference="0306912345678901")
    bianchi = ReceiptSpec(codes=("RLM95056",), amount=Decimal("21.78"), payer="Giulia Bianchi",
                          style="unicredit", code_style="dash", reference="0306900000000002",
                          paid_on=date(2026, 3, 15))
    esposito = ReceiptSpec(codes=("RLM95057",), payer="Luca Esposito", style="poste",
                           code_style="dotted", reference="0306900000000003")
    romano = ReceiptSpec(codes=("RLM95058",), amount=Decimal("32.67"), payer="Francesca Romano",
                         style="fineco", code_style="lower", reference="0306900000000004")
    colombo_short = ReceiptSpec(codes=("RLM95059",), amount=Decimal("9.89"),
                                payer="Marco Colombo", style="bper",
                                reference="0306900000000005")
    ricci_wrong_iban = ReceiptSpec(codes=("RLM95060",), payer="Elena Ricci", style="intesa",
                                   beneficiary_iban="IT60X0542811101000000123456",
                                   payer_iban="IT02A0301503200000003517230",
                                   reference="0306900000000006")
    greco_body = ReceiptSpec(codes=("RLM95061",), payer="Paolo Greco",
                             reference="0306900000000007")
    return [
        InboxItem("01-bonifico-rossi.pdf", receipt_pdf(rossi), "matched", ("RLM95055",),
                  "home-banking PDF dropped by a colleague"),
        InboxItem("02-mail-bianchi.eml",
                  receipt_email(bianchi, sender="giulia.bianchi@example.com", html=True),
                  "matched", ("RLM95056",), "email with the receipt PDF attached"),
        InboxItem("03-bollettino-esposito.pdf", receipt_pdf(esposito), "matched",
                  ("RLM95057",), "postal slip, code written R.L.M. 95057"),
        InboxItem("04-fineco-romano.pdf", receipt_pdf(romano), "matched", ("RLM95058",),
                  "code written in lower case, 3-year renewal"),
        InboxItem("05-corpo-greco.eml", body_only_email(greco_body,
                                                        sender="paolo.greco@example.com"),
                  "unmatched", (), "details written in the email body, no attachment: a "
                  "claim, not the bank's document; the customer is asked for it, once"),
        InboxItem("06-bonifico-colombo.pdf", receipt_pdf(colombo_short), "unmatched", (),
                  "paid 9,89 instead of 10,89"),
        InboxItem("07-bonifico-ricci.pdf", receipt_pdf(ricci_wrong_iban), "unmatched", (),
                  "paid to an IBAN that is not ours"),
        InboxItem("08-di-nuovo-rossi.eml",
                  receipt_email(rossi, sender="mario.rossi@example.com"), "duplicate", (),
                  "the same receipt sent again by email"),
        InboxItem("09-scansione.pdf", image_only_pdf(), "unmatched", (),
                  "a scan without a text layer"),
        InboxItem("10-senza-codice.eml", build_email(MailSpec(
            sender="anonimo@example.com", subject="pagamento",
            body="Buongiorno, ho pagato il rinnovo. Saluti")), "unmatched", (),
                  "a customer who forgot the order code"),
        InboxItem("11-rotto.pdf", b"%PDF-1.4\n%broken beyond repair", "quarantined", (),
                  "a corrupt PDF"),
    ]


PHOTO_ORDER = OrderSpec("RLM95062", Decimal("10.89"), "Sara Gallo", "sara.gallo@example.com")


def photo_item() -> InboxItem:
    """A phone photo of a printed receipt (needs OCR: Tesseract with Italian)."""
    import random

    from tests.factories.scans import photo
    spec = ReceiptSpec(codes=("RLM95062",), payer="Sara Gallo", style="intesa",
                       reference="0306900000000008")
    data, _how = photo(spec, random.Random(62))
    return InboxItem("12-foto-gallo.jpg", data, "matched", ("RLM95062",),
                     "a phone photo of the bank receipt (OCR)")


def write_scenario(folder: Path, inbox: Path, with_photo: bool = False) -> Path:
    """Writes ``orders.csv`` in ``folder`` and the sample receipts in ``inbox`` (with a
    phone photo to read by OCR, and its order, when ``with_photo``)."""
    folder.mkdir(parents=True, exist_ok=True)
    inbox.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "orders.csv"
    orders = ORDERS + ([PHOTO_ORDER] if with_photo else [])
    csv_path.write_text(orders_csv(orders), encoding="utf-8")
    for item in inbox_items() + ([photo_item()] if with_photo else []):
        (inbox / item.filename).write_bytes(item.data)
    return csv_path
