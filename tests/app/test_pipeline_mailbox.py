"""The mailbox written instead of the code, end to end (issue 13): a receipt PDF whose
causale names the PEC address or the userid, through the pipeline, into SQLite."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from store.models import MatchDecisionRow, ReceiptOrderRow
from tests.app.test_pipeline_matching import ROSSI, Office, office  # noqa: F401 (fixture)
from tests.factories.receipts import OrderSpec, ReceiptSpec, receipt_lines, receipt_pdf

PEC = "mario.rossi@pec.avvocati.it"
ORDER = OrderSpec("RLM95055", Decimal("10.89"), "Mario Rossi", ROSSI, userid="MROSSI01",
                  pec_address=PEC)
OTHER = OrderSpec("RLM40001", Decimal("10.89"), "Giulia Bianchi", "g.bianchi@example.com",
                  userid="GBIANCHI", pec_address="giulia.bianchi@pec.avvocati.it")


def causale_pdf(causale: str, reference: str = "0306912345678901") -> bytes:
    spec = ReceiptSpec(codes=(), payer="Anna Verdi", style="intesa", reference=reference)
    lines = [f"Causale: {causale}" if line.startswith("Causale") else line
             for line in receipt_lines(spec)]
    return receipt_pdf(spec, lines)


def test_a_causale_naming_the_pec_address_pays_that_mailboxs_order(office: Office) -> None:  # noqa: F811
    office.orders(ORDER, OTHER)
    office.drop("r.pdf", causale_pdf("Rinnovo casella Mario.Rossi@PEC.avvocati.it"))
    office.poll()
    (receipt,) = office.receipts()
    assert receipt.status == "matched", receipt.reason
    assert office.order("RLM95055").status == "paid"
    assert office.order("RLM40001").status == "pending"
    (decision,) = office.all(MatchDecisionRow)
    assert "mailbox mario.rossi@pec.avvocati.it names order RLM95055" in decision.reason
    assert decision.inputs["mailboxes"] == [PEC]


def test_a_userid_in_the_causale_pays_and_a_wrong_amount_goes_to_review(office: Office) -> None:  # noqa: F811
    office.orders(ORDER, OTHER)
    office.drop("a.pdf", causale_pdf("rinnovo PEC userid GBIANCHI"))
    office.poll()
    assert office.order("RLM40001").status == "paid"
    office.orders(replace(ORDER, amount=Decimal("12.00")))
    office.drop("b.pdf", causale_pdf("rinnovo PEC userid mrossi01", "0306999999999999"))
    office.poll()
    second = office.receipts()[1]
    assert second.status == "unmatched" and "none of its pending orders is for 10,89" \
        in second.reason
    assert office.count(ReceiptOrderRow) == 1
