"""``receipts retry ID [--by NAME]``: a quarantined or unmatched receipt processed again from
its kept original, audited, with the effects of any match, exactly once."""
from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from tests.factories.receipts import OrderSpec, ReceiptSpec, orders_csv, receipt_pdf

ORDER = OrderSpec("RLM97001", Decimal("10.89"), "Mario Rossi", "mario@example.com")


def _drop(workdir: Path) -> None:
    inbox = workdir / "var" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    spec = ReceiptSpec(codes=("RLM97001",), reference="0306970000000001")
    (inbox / "ricevuta.pdf").write_bytes(receipt_pdf(spec))


def _audit(workdir: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(workdir / "var" / "intake.sqlite3") as conn:
        return conn.execute("SELECT actor, field, new_value FROM audit_log WHERE "
                            "entity='messages' ORDER BY id").fetchall()


@pytest.mark.sqlite_only  # reads the audit log from the SQLite file
def test_an_unmatched_receipt_is_paid_once_its_order_is_imported(workdir, cli):
    """GIVEN a receipt whose order was not imported yet (unmatched) WHEN the order is
    imported and a person retries it THEN it is matched, the order paid and mailed once, the
    retry audited with the person's name; retrying a matched receipt is refused (exit 2)."""
    _drop(workdir)
    assert cli("poll", "--once").code == 0
    (receipt,) = cli("receipts", "list", "--json").json()
    assert receipt["status"] == "unmatched"
    (workdir / "orders.csv").write_text(orders_csv([ORDER]))
    assert cli("orders", "import", str(workdir / "orders.csv")).code == 0

    result = cli("receipts", "retry", str(receipt["id"]), "--by", "anna")
    assert result.code == 0, result.err
    assert result.out.startswith(f"receipt {receipt['id']}: unmatched -> matched (RLM97001)")
    (order,) = cli("orders", "list", "--json").json()
    assert order["status"] == "paid" and order["receipt_ids"] == [receipt["id"]]
    assert ("person:anna", "status", "received") in _audit(workdir)
    assert ("person:anna", "status", "matched") in _audit(workdir)
    (again,) = cli("receipts", "list", "--json").json()
    assert again["status"] == "matched" and len(again["documents"]) == 1

    refused = cli("receipts", "retry", str(receipt["id"]))
    assert refused.code == 2 and "only quarantined or unmatched" in refused.err
    assert cli("poll", "--once").code == 0
    assert len(list((workdir / "var" / "outbox").glob("*.eml"))) == 1  # mailed once
    assert cli("receipts", "retry", "999").code == 2


def test_a_receipt_quarantined_by_a_bug_is_processed_after_the_fix(workdir, cli, monkeypatch):
    (workdir / "orders.csv").write_text(orders_csv([ORDER]))
    assert cli("orders", "import", str(workdir / "orders.csv")).code == 0
    _drop(workdir)
    import intake.reading

    def broken(_text):  # noqa: ANN001, ANN202
        raise KeyError("a bug of ours")
    with monkeypatch.context() as patch:
        patch.setattr(intake.reading, "extract_fields", broken)
        assert cli("poll", "--once").code == 0
    (receipt,) = cli("receipts", "list", "--json").json()
    assert receipt["status"] == "quarantined"
    assert receipt["reason"] == "internal error in extract: KeyError: 'a bug of ours'"
    assert (workdir / "var/inbox/quarantine/ricevuta.pdf").exists()

    result = cli("receipts", "retry", str(receipt["id"]), "--by", "person:luca")
    assert result.code == 0 and "quarantined -> matched" in result.out
    assert cli("orders", "list", "--json").json()[0]["status"] == "paid"
