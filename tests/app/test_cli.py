"""Every command of CONTRACT.md, through the CLI, with the contract's output shapes."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_subprocess
from tests.factories.receipts import (
    ReceiptSpec,
    body_only_email,
    image_only_pdf,
    receipt_email,
    receipt_pdf,
)
from tests.factories.scenario import write_scenario

ORDER_KEYS = {"code", "status", "amount", "paid_amount", "paid_at", "receipt_ids",
              "new_expiry_date"}
RECEIPT_KEYS = {"id", "source", "message_id", "filename", "status", "reason", "codes",
                "amount", "order_codes"}
EXTRACT_KEYS = ["file", "codes", "amount", "currency", "iban", "transfer_ref", "payment_date",
                "payer", "method", "text_source", "mailboxes", "confidence", "error"]
CONFIDENCE_KEYS = ["codes", "amount", "iban", "transfer_ref", "payment_date", "payer"]


def test_init_is_idempotent(workdir: Path, cli, db_backend: str) -> None:  # noqa: ANN001
    first = cli("init")
    second = cli("init")
    assert first.code == second.code == 0
    assert "upgraded from empty" in first.out and "already at revision" in second.out
    assert len(first.out.strip().splitlines()) == 1
    if db_backend == "sqlite":
        assert (workdir / "var/intake.sqlite3").exists()


def test_orders_import_counts_and_rejected_lines(workdir: Path, cli) -> None:  # noqa: ANN001
    csv_path = write_scenario(workdir, workdir / "inbox")
    text = csv_path.read_text().rstrip("\n")
    csv_path.write_text(text + "\nRLM12345,U,x@pec.it,X,broken,10.00,2026-01-01,1\n")
    result = cli("orders", "import", str(csv_path))
    assert result.code == 0
    assert result.out.splitlines()[0] == \
        "orders: 7 inserted, 0 updated, 0 unchanged, 1 rejected"
    assert "rejected line 9: customer_email" in result.out
    # again, with one amount changed: an update, the rest unchanged
    csv_path.write_text(text.replace("RLM95055,U95055,", "RLM95055,U95055,").replace(
        "mario.rossi@example.com,10.89", "mario.rossi@example.com,12.00") + "\n")
    again = cli("orders", "import", str(csv_path))
    assert again.out.splitlines()[0] == "orders: 0 inserted, 1 updated, 6 unchanged, 0 rejected"
    orders = {o["code"]: o for o in cli("orders", "list", "--json").json()}
    assert orders["RLM95055"]["amount"] == "12.00"


def test_orders_import_missing_file_is_exit_2(workdir: Path, cli) -> None:  # noqa: ANN001
    result = cli("orders", "import", "nope.csv")
    assert result.code == 2 and "nope.csv" in result.err


def test_orders_list_json_shape_and_status_filter(workdir: Path, cli) -> None:  # noqa: ANN001
    cli("orders", "import", str(write_scenario(workdir, workdir / "var/inbox")))
    orders = cli("orders", "list", "--json").json()
    assert len(orders) == 7 and all(ORDER_KEYS <= set(o) for o in orders)
    first = orders[0]
    assert (first["code"], first["status"], first["amount"], first["paid_amount"],
            first["paid_at"], first["receipt_ids"], first["new_expiry_date"]) == (
        "RLM95055", "pending", "10.89", None, None, [], None)
    cli("poll", "--once")
    paid = cli("orders", "list", "--json", "--status", "paid").json()
    assert paid and all(o["status"] == "paid" and o["paid_at"] for o in paid)
    assert cli("orders", "list", "--json", "--status", "nonexistent").json() == []


def test_receipts_list_json_shape(workdir: Path, cli) -> None:  # noqa: ANN001
    cli("orders", "import", str(write_scenario(workdir, workdir / "var/inbox")))
    cli("poll", "--once")
    receipts = cli("receipts", "list", "--json").json()
    assert len(receipts) == 11 and all(RECEIPT_KEYS <= set(r) for r in receipts)
    matched = [r for r in receipts if r["status"] == "matched"]
    assert all(r["reason"] is None and r["order_codes"] for r in matched)
    body_only = next(r for r in receipts if r["codes"] == ["RLM95061"])
    assert body_only["filename"] is None and body_only["message_id"]
    assert body_only["status"] == "unmatched" and body_only["order_codes"] == []
    assert body_only["reason"].startswith("no bank document")
    pdf = next(r for r in receipts if r["filename"] == "01-bonifico-rossi.pdf")
    assert (pdf["codes"], pdf["amount"], pdf["source"]) == (["RLM95055"], "10.89", "inbox")
    quarantined = cli("receipts", "list", "--json", "--status", "quarantined").json()
    assert [r["filename"] for r in quarantined] == ["11-rotto.pdf"]
    assert "corrupt PDF" in quarantined[0]["reason"]


def test_extract_json_for_each_kind_of_input(workdir: Path, cli) -> None:  # noqa: ANN001
    spec = ReceiptSpec()
    (workdir / "r.pdf").write_bytes(receipt_pdf(spec))
    (workdir / "m.eml").write_bytes(receipt_email(spec))
    (workdir / "b.eml").write_bytes(body_only_email(spec, html=True))
    (workdir / "bad.pdf").write_bytes(b"%PDF-1.4 nothing")
    result = cli("extract", "r.pdf", "m.eml", "b.eml", "bad.pdf", "missing.pdf", "--json")
    assert result.code == 0
    pdf, eml, body, bad, missing = result.json_lines()
    assert all(list(r) == EXTRACT_KEYS for r in (pdf, eml, body, bad, missing))
    confidence = pdf.pop("confidence")
    assert pdf == {"file": "r.pdf", "codes": ["RLM95055"], "amount": "10.89",
                   "currency": "EUR", "iban": "IT62C0326803203052886541770",
                   "transfer_ref": "0306912345678901", "payment_date": "2026-03-14",
                   "payer": "Mario Rossi", "method": "bonifico", "text_source": "text_layer",
                   "mailboxes": [], "error": None}
    # a number from 0 to 1 per field; a text layer's labelled code and amount are sure
    assert list(confidence) == CONFIDENCE_KEYS
    assert all(0 <= v <= 1 for v in confidence.values())
    assert confidence["codes"] >= 0.9 and confidence["amount"] >= 0.9
    assert list(bad["confidence"]) == CONFIDENCE_KEYS
    assert all(v is None for v in bad["confidence"].values()) and bad["mailboxes"] == []
    assert {k: eml[k] for k in ("codes", "amount", "iban", "text_source")} == {
        "codes": ["RLM95055"], "amount": "10.89", "iban": "IT62C0326803203052886541770",
        "text_source": "text_layer"}
    assert (body["codes"], body["amount"], body["text_source"], body["transfer_ref"]) == (
        ["RLM95055"], "10.89", "email_body", "0306912345678901")
    assert bad["error"] and "corrupt PDF" in bad["error"] and bad["codes"] == []
    assert missing["error"] and missing["amount"] is None
    assert not (workdir / "var").exists()  # extract never touches the database


def test_extract_of_a_scan_without_ocr_says_so(workdir: Path, cli, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr("app.commands.default_ocr", lambda *_: None)
    (workdir / "scan.pdf").write_bytes(image_only_pdf())
    (line,) = cli("extract", "scan.pdf", "--json").json_lines()
    assert "needs OCR" in line["error"]


def test_poll_once_prints_one_summary_line(workdir: Path, cli) -> None:  # noqa: ANN001
    cli("orders", "import", str(write_scenario(workdir, workdir / "var/inbox")))
    result = cli("poll", "--once")
    assert result.code == 0 and len(result.out.strip().splitlines()) == 1
    assert "11 new message(s)" in result.out and "4 matched" in result.out
    assert "5 unmatched" in result.out  # the body-only claim waits for the bank's document


@pytest.mark.parametrize("args", [[], ["bogus"], ["poll"], ["orders"], ["extract"]])
def test_usage_errors_are_exit_2(workdir: Path, cli, args) -> None:  # noqa: ANN001
    result = cli(*args)
    assert result.code == 2 and result.err.startswith("pec-intake: usage:")


def test_real_entry_point_and_console_script(tmp_path: Path) -> None:
    (tmp_path / "r.pdf").write_bytes(receipt_pdf(ReceiptSpec()))
    result = run_subprocess("extract", "r.pdf", "--json", cwd=tmp_path)
    assert result.code == 0
    assert '"codes": ["RLM95055"]' in result.out
    script = shutil.which("pec-intake")
    if script is None:
        pytest.skip("pec-intake console script not installed (pip install -e .)")
    import subprocess
    proc = subprocess.run([script, "init"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0 and "revision" in proc.stdout


@pytest.mark.sqlite_only  # where the embedded SQLite file lands
def test_config_may_also_follow_the_command(workdir: Path, cli) -> None:  # noqa: ANN001
    config = workdir / "conf" / "pec.toml"
    config.parent.mkdir()
    config.write_text("[renewal]\ndelay_hours = 0\n")
    result = cli("init", "--config", str(config))
    assert result.code == 0 and (workdir / "conf/var/intake.sqlite3").exists()
    assert not (workdir / "var").exists()
