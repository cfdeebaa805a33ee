"""Matching end to end: files dropped in a folder source, through the Pipeline, into SQLite.
Each test is one rule of docs/matching.md as the administration would see it."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.pipeline import Pipeline
from config.settings import MatchingSettings, Settings, embedded_defaults
from matching.orders import parse_orders_csv
from store.db import Database
from store.models import (
    MatchDecisionRow,
    MessageRow,
    OrderRow,
    OutgoingMailRow,
    ReceiptOrderRow,
    RenewalJobRow,
)
from store.orderbook import import_orders
from tests.factories.receipts import (
    MailSpec,
    OrderSpec,
    ReceiptSpec,
    build_email,
    orders_csv,
    receipt_email,
    receipt_pdf,
)

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
ROSSI = "mario.rossi@example.com"
ROSSI_ORDER = OrderSpec("RLM95055", Decimal("10.89"), "Mario Rossi", ROSSI)
BIANCHI_ORDER = OrderSpec("RLM95056", Decimal("21.78"), "Giulia Bianchi",
                          "giulia.bianchi@example.com")


@dataclass
class Office:
    """The administration: an order book, a drop folder, and the pipeline over them."""

    settings: Settings
    db: Database
    inbox: Path

    def orders(self, *specs: OrderSpec) -> None:
        with self.db.session() as session:
            import_orders(session, parse_orders_csv(orders_csv(list(specs))), actor="test")

    def drop(self, name: str, data: bytes) -> None:
        (self.inbox / name).write_bytes(data)

    def poll(self, tolerance: str = "0.00") -> None:
        settings = replace(self.settings, matching=MatchingSettings(
            underpayment_tolerance=Decimal(tolerance)))
        Pipeline(settings, self.db, clock=lambda: NOW).poll_once()

    def order(self, code: str) -> OrderRow:
        with self.db.session() as session:
            return session.scalars(select(OrderRow).where(OrderRow.code == code)).one()

    def receipts(self) -> list[MessageRow]:
        with self.db.session() as session:
            return list(session.scalars(select(MessageRow).order_by(MessageRow.id)))

    def all(self, model: type) -> list:
        with self.db.session() as session:
            return list(session.scalars(select(model)).all())

    def count(self, model: type) -> int:
        return len(self.all(model))


@pytest.fixture
def office(tmp_path: Path) -> Office:
    settings = embedded_defaults(tmp_path)
    inbox = settings.sources[0].path
    assert inbox is not None
    inbox.mkdir(parents=True)
    return Office(settings, Database(settings.database_url), inbox)


def test_one_payment_for_two_orders_pays_both_linked_to_one_receipt(office: Office) -> None:
    office.orders(ROSSI_ORDER, BIANCHI_ORDER)
    spec = ReceiptSpec(codes=("RLM95055", "RLM95056"), amount=Decimal("32.67"))
    office.drop("both.pdf", receipt_pdf(spec))
    office.poll()
    (receipt,) = office.receipts()
    assert receipt.status == "matched"
    for code in ("RLM95055", "RLM95056"):
        order = office.order(code)
        assert (order.status, order.paid_amount) == ("paid", order.amount)
    assert office.count(ReceiptOrderRow) == 2 and office.count(RenewalJobRow) == 2


def test_the_same_payment_by_email_then_by_fax_is_a_duplicate(office: Office) -> None:
    """GIVEN a receipt emailed and paid WHEN the same payment arrives as a fax of another
    layout (other bytes, other reference) THEN it is a duplicate of the first: no second
    payment, no second mail."""
    office.orders(ROSSI_ORDER)
    spec = ReceiptSpec(payer="Mario Rossi", style="intesa")
    office.drop("1.eml", receipt_email(spec, sender=ROSSI))
    office.poll()
    fax = replace(spec, style="unicredit", reference="1111222233334444")
    office.drop("2.pdf", receipt_pdf(fax))
    office.poll()
    first, second = office.receipts()
    assert (first.status, second.status) == ("matched", "duplicate")
    assert second.duplicate_of_id == first.id
    assert "same code RLM95055, amount, date and payer" in second.reason
    assert office.count(OutgoingMailRow) == 1 and office.count(ReceiptOrderRow) == 1


@pytest.mark.parametrize("again, why", [
    ("same bytes", "same message"),
    ("same document", "same document"),
    ("same reference", "same CRO/TRN 0306912345678901"),
])
def test_a_payment_recorded_before_is_a_duplicate_by_each_check(office: Office, again: str,
                                                                why: str) -> None:
    """GIVEN a receipt emailed and paid WHEN the same payment arrives again, as the same
    file, as the same PDF in another email, or as another layout with the same CRO/TRN
    (and another payer spelling, so only the reference can tell) THEN it is a duplicate,
    named by the check that found it."""
    office.orders(ROSSI_ORDER)
    spec = ReceiptSpec(payer="Mario Rossi", style="intesa")
    pdf = receipt_pdf(spec)
    first_mail = build_email(MailSpec(sender=ROSSI, attachments=[
        ("ricevuta.pdf", "application/pdf", pdf)]))
    office.drop("1.eml", first_mail)
    office.poll()
    if again == "same bytes":
        office.drop("copia.eml", first_mail)
    elif again == "same document":
        office.drop("2.eml", build_email(MailSpec(
            sender=ROSSI, subject="Sollecito: ricevuta già inviata",
            attachments=[("bonifico.pdf", "application/pdf", pdf)])))
    else:
        office.drop("2.pdf", receipt_pdf(replace(spec, style="unicredit",
                                                 payer="Rossi Mario S.r.l.")))
    office.poll()
    first, second = office.receipts()
    assert (first.status, second.status) == ("matched", "duplicate"), second.reason
    assert second.duplicate_of_id == first.id
    assert why in second.reason
    assert office.count(OutgoingMailRow) == 1 and office.count(ReceiptOrderRow) == 1


def test_a_new_payment_for_a_paid_order_is_a_possible_double_payment(office: Office) -> None:
    office.orders(ROSSI_ORDER)
    office.drop("1.pdf", receipt_pdf(ReceiptSpec(payer="Mario Rossi")))
    office.poll()
    again = ReceiptSpec(payer="Mario Rossi", reference="5555666677778888",
                        paid_on=date(2026, 3, 15))
    office.drop("2.pdf", receipt_pdf(again))
    office.poll()
    second = office.receipts()[1]
    assert second.status == "unmatched" and "possible double payment" in second.reason
    order = office.order("RLM95055")
    assert (order.status, order.review_flag) == ("paid", "double_payment_review")
    assert office.count(ReceiptOrderRow) == 1


@pytest.mark.parametrize(("paid", "tolerance", "status", "flag"), [
    ("10.89", "0.00", "paid", None),
    ("12.00", "0.00", "paid", "refund_review"),
    ("10.39", "0.50", "paid", "underpaid_within_tolerance"),
    ("10.39", "0.00", "pending", None),
])
def test_amounts(office: Office, paid: str, tolerance: str, status: str,
                 flag: str | None) -> None:
    office.orders(ROSSI_ORDER)
    office.drop("r.pdf", receipt_pdf(ReceiptSpec(amount=Decimal(paid))))
    office.poll(tolerance)
    order = office.order("RLM95055")
    assert (order.status, order.review_flag) == (status, flag)
    if status == "paid":
        assert order.paid_amount == Decimal(paid)  # what was paid, the difference recorded


@pytest.mark.parametrize(("userid", "expiry", "why"), [
    ("KVIS0042", date(2026, 4, 22), "starts with KVIS"),
    ("U95055", date(2025, 8, 1), "more than 6 months"),
])
def test_orders_the_online_procedure_cannot_renew_go_to_support(
        office: Office, userid: str, expiry: date, why: str) -> None:
    office.orders(replace(ROSSI_ORDER, userid=userid, expiry_date=expiry))
    office.drop("r.pdf", receipt_pdf(ReceiptSpec()))
    office.poll()
    order = office.order("RLM95055")
    assert order.status == "support" and why in order.status_reason
    assert order.paid_amount == Decimal("10.89")
    (receipt,) = office.receipts()
    assert receipt.status == "support"
    assert office.count(RenewalJobRow) == 0 and office.count(ReceiptOrderRow) == 1
    # the customer is told the money arrived and that sales support will renew
    (mail,) = office.all(OutgoingMailRow)
    assert (mail.template, mail.to_addr) == ("payment_received_support", ROSSI)
    assert "Supporto Vendite" in mail.body_text and "10,89" in mail.body_text


def test_no_code_but_the_senders_only_order_of_that_amount(office: Office) -> None:
    office.orders(ROSSI_ORDER, BIANCHI_ORDER)
    office.drop("m.eml", receipt_email(ReceiptSpec(codes=()), sender=ROSSI))
    office.poll()
    assert office.order("RLM95055").status == "paid"
    assert office.order("RLM95056").status == "pending"


def test_a_code_of_no_order_pays_its_neighbour_only_with_sender_and_amount(
        office: Office) -> None:
    office.orders(ROSSI_ORDER, BIANCHI_ORDER)
    typo = ReceiptSpec(codes=("RLM95065",))  # one digit off RLM95055
    stranger = replace(typo, payer="Anna Verdi")
    office.drop("a.eml", receipt_email(stranger, sender="someone.else@example.com"))
    office.poll()
    assert office.order("RLM95055").status == "pending"
    office.drop("b.eml", receipt_email(replace(typo, reference="9"), sender=ROSSI))
    office.poll()
    assert office.order("RLM95055").status == "paid"
    assert [r.status for r in office.receipts()] == ["unmatched", "matched"]


def test_foreign_iban_is_never_paid(office: Office) -> None:
    office.orders(ROSSI_ORDER)
    office.drop("r.pdf", receipt_pdf(ReceiptSpec(
        beneficiary_iban="IT60X0542811101000000123456",
        payer_iban="IT02A0301503200000003517230")))
    office.poll()
    assert office.order("RLM95055").status == "pending"
    assert "which is not ours" in office.receipts()[0].reason


def test_every_decision_is_stored_with_inputs_candidates_and_flags(office: Office) -> None:
    office.orders(ROSSI_ORDER)
    office.drop("r.pdf", receipt_pdf(ReceiptSpec(amount=Decimal("9.89"))))
    office.poll()
    with office.db.session() as session:
        (row,) = session.scalars(select(MatchDecisionRow)).all()
    assert row.outcome == "unmatched"
    assert row.inputs["amount"] == "9.89" and row.inputs["today"] == "2026-03-16"
    assert "9,89" in row.inputs["evidence"]["amount"]["snippet"]
    assert row.candidates[0]["code"] == "RLM95055"
    assert "amount 9,89 is 1,00 short of 10,89" in row.candidates[0]["reasons"]


def test_receipts_list_json_shows_ranked_candidates(workdir: Path, cli) -> None:  # noqa: ANN001
    csv_path = workdir / "orders.csv"
    same_price = replace(BIANCHI_ORDER, amount=Decimal("10.89"))
    csv_path.write_text(orders_csv([ROSSI_ORDER, same_price]))
    cli("orders", "import", str(csv_path))
    (workdir / "var/inbox").mkdir(parents=True)
    # paid by a stranger: RLM95055 or a one-digit slip for RLM95056 of the same price?
    (workdir / "var/inbox/r.pdf").write_bytes(receipt_pdf(ReceiptSpec(payer="Anna Verdi")))
    cli("poll", "--once")
    (receipt,) = cli("receipts", "list", "--json").json()
    assert receipt["status"] == "unmatched" and "one-character slip" in receipt["reason"]
    top = receipt["candidates"][0]
    assert (top["code"], set(top)) == ("RLM95055", {"code", "score", "reasons"})
    assert "code RLM95055 found" in top["reasons"]
    assert [c["code"] for c in receipt["candidates"]] == ["RLM95055", "RLM95056"]


def _ocr_engine():  # noqa: ANN202
    from intake.text import default_ocr
    engine = default_ocr()
    if engine is None:
        pytest.skip("tesseract is not installed")
    return engine


@pytest.mark.parametrize(("payer", "status"), [
    ("Mario Rossi", "paid"),     # the payer's name singles out RLM95055 among its neighbours
    ("Anna Verdi", "pending"),   # nothing but the code OCR read: it could be RLM95056's
])
def test_a_code_read_by_ocr_needs_a_second_signal_beside_a_same_price_neighbour(
        office: Office, payer: str, status: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN RLM95055 and RLM95056 pending at the same price WHEN a fax (real Ghostscript G4,
    real Tesseract) names RLM95055 THEN it is paid only if the payer is its customer."""
    from tests.factories.ghostscript import pdf_to_fax
    monkeypatch.setenv("OMP_THREAD_LIMIT", "1")
    office.orders(ROSSI_ORDER, replace(BIANCHI_ORDER, amount=Decimal("10.89")))
    spec = ReceiptSpec(payer=payer, style="intesa")
    office.drop("fax.tif", pdf_to_fax(receipt_pdf(spec)))
    Pipeline(office.settings, office.db, clock=lambda: NOW, ocr=_ocr_engine()).poll_once()
    (receipt,) = office.receipts()
    assert receipt.text_source == "ocr"
    assert office.order("RLM95055").status == status, receipt.reason
    assert office.order("RLM95056").status == "pending"
    if status == "pending":
        assert "may be misread" in receipt.reason
