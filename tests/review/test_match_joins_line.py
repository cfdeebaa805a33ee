"""A person's match meets the bank: a receipt decided in the review UI (or `receipts match`)
joins the unmatched statement line with its CRO/TRN and amount, as an automatic match does;
undoing the match lets the line go again."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from config.settings import load_settings
from review import actions
from store.db import Database
from tests.app.test_statements_cli import _lines, _world, _write
from tests.factories.receipts import ReceiptSpec, receipt_pdf
from tests.factories.statements import Statement, Transfer, camt

REFERENCE = "0306977770000001"
# the bank's line: no code in the causale, so it waits unmatched
LINE = Transfer(Decimal("10.89"), "Rinnovo casella PEC", REFERENCE, payer="Studio Rossi")
# the proof: no code either (a fax with the causale cut), the same TRN and amount
PROOF = ReceiptSpec(codes=(), payer="Studio Rossi", reference=REFERENCE)


def test_a_persons_match_joins_the_line_and_undo_releases_it(workdir: Path, cli) -> None:  # noqa: ANN001
    args = _world(workdir, cli)
    (workdir / "var/inbox/proof.pdf").write_bytes(receipt_pdf(PROOF))
    assert cli("statements", "import", _write(workdir, "day.xml", camt(Statement([LINE])))
               ).code == 0
    assert cli("poll", "--once").code == 0
    (receipt,) = cli("receipts", "list", "--json").json()
    assert receipt["status"] == "unmatched" and receipt["transfer_ref"] == REFERENCE
    assert _lines(cli, args)[REFERENCE]["status"] == "unmatched"

    settings = load_settings()
    db = Database(settings.database_url)
    ctx = actions.ReviewContext(settings)
    try:  # as the review UI does it, with its undo window
        actions.perform(db, actions.match, ctx, receipt["id"], ["RLM95055"], actor="anna",
                        undo_seconds=600)
        line = _lines(cli, args)[REFERENCE]
        assert line["status"] == "matched" and line["order_codes"] == ["RLM95055"]
        orders = {o["code"]: o for o in cli("orders", "list", "--json").json()}
        assert orders["RLM95055"]["status"] in ("paid", "support")  # the sample book's expiry
        assert orders["RLM95055"]["bank_confirmed"] is True

        actions.perform(db, actions.undo, ctx, receipt["id"], actor="anna")
    finally:
        db.dispose()
    line = _lines(cli, args)[REFERENCE]
    assert line["status"] == "unmatched" and line["order_codes"] == []
    orders = {o["code"]: o for o in cli("orders", "list", "--json").json()}
    assert orders["RLM95055"]["status"] == "pending"
