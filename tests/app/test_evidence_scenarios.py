"""Issue 10's seven measured cases, rebuilt through the command line: each ends in review with
a reason, exit 2 with one line, or paid once.

1. a reversal; 2. words and figures that disagree; 3. a claim taken for a proof; 4. hidden
HTML text; 5. a shared logo making two payments 'the same document'; 6. settings and order
data that crash or open the door; 7. two mails for one event (a slow SMTP server, and mails
of one order out of order).
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from review import queue
from store.db import Database
from store.models import OrderRow, OutgoingMailRow
from tests.conftest import DATABASE_ENV, ROOT, run_subprocess
from tests.factories.receipts import (
    OUR_IBAN,
    MailSpec,
    OrderSpec,
    ReceiptSpec,
    build_email,
    iban_groups,
    orders_csv,
    receipt_email,
    receipt_pdf,
)
from tests.servers.smtp import SmtpServer

EXPIRY = date.today() + timedelta(days=60)  # renewable online whatever day the test runs
ROSSI = OrderSpec("RLM95055", Decimal("10.89"), "Mario Rossi", "mario.rossi@example.com",
                  expiry_date=EXPIRY)
BIANCHI = OrderSpec("RLM95056", Decimal("21.78"), "Giulia Bianchi",
                    "giulia.bianchi@example.com", expiry_date=EXPIRY)


def database_url(workdir: Path) -> str:
    """The database the commands use: PostgreSQL when the test runs on it, else the
    embedded defaults' SQLite file."""
    return os.environ.get(DATABASE_ENV) or f"sqlite:///{workdir}/var/intake.sqlite3"


def bank_pdf(*lines: str) -> bytes:
    """A home-banking PDF with a real text layer and our beneficiary."""
    return receipt_pdf(ReceiptSpec(), [
        "Banca Intesa Sanpaolo - Internet Banking", *lines,
        "Beneficiario: Lextel S.p.a.", f"IBAN beneficiario: {iban_groups(OUR_IBAN)}",
        "Data esecuzione: 14/03/2026", "Ordinante: Mario Rossi", "TRN: 0306912345678901"])


@pytest.fixture
def office(workdir: Path, cli):  # noqa: ANN001, ANN201
    """GIVEN the embedded defaults (drop folder var/inbox, mail as .eml in var/outbox) and an
    order book of Rossi's and Bianchi's pending orders."""
    (workdir / "orders.csv").write_text(orders_csv([ROSSI, BIANCHI]))
    assert cli("orders", "import", "orders.csv").code == 0
    inbox = workdir / "var/inbox"
    inbox.mkdir(parents=True, exist_ok=True)

    def drop(name: str, data: bytes) -> None:
        (inbox / name).write_bytes(data)
    return workdir, cli, drop


def receipts(cli, status: str | None = None) -> list[dict]:  # noqa: ANN001
    return cli("receipts", "list", "--json", *(["--status", status] if status else [])).json()


def orders(cli) -> dict[str, dict]:  # noqa: ANN001
    return {o["code"]: o for o in cli("orders", "list", "--json").json()}


def outbox(workdir: Path) -> list[str]:
    return sorted(p.name for p in (workdir / "var/outbox").glob("*.eml"))


# --- 1. a reversal, and transfers the bank did not execute ----------------------------------

@pytest.mark.parametrize("lines, words", [
    (("STORNO BONIFICO", "Causale: Rinnovo PEC ordine RLM95055",
      "Importo stornato: -10,89 EUR"), ("negative amount -10,89", "reversal")),
    (("Bonifico SEPA", "Causale: RLM95055", "Importo: 10,89 EUR",
      "Stato: in attesa di autorizzazione"), ("not executed yet",)),
    (("Esito: bonifico respinto", "Causale: RLM95055", "Importo: 10,89 EUR"),
     ("refused transfer",)),
])
def test_1_a_reversal_or_a_transfer_not_executed_never_pays(office, lines, words) -> None:  # noqa: ANN001
    workdir, cli, drop = office
    drop("storno.pdf", bank_pdf(*lines))
    cli("poll", "--once")
    (receipt,) = receipts(cli)
    assert receipt["status"] == "unmatched"
    assert all(w in receipt["reason"] for w in words), receipt["reason"]
    assert orders(cli)["RLM95055"]["status"] == "pending" and outbox(workdir) == []


# --- 2. words and figures that disagree ---------------------------------------------------

def test_2_figures_and_words_that_disagree_go_to_review_with_both(office) -> None:  # noqa: ANN001
    workdir, cli, drop = office
    drop("slip.pdf", bank_pdf("Causale: RLM95055", "Importo: EUR 1,00", "in lettere: dieci/89"))
    drop("total.pdf", bank_pdf("Causale: RLM95056", "Importo: EUR 21,78",
                               "Commissioni: EUR 1,00", "Totale addebitato: EUR 2,78"))
    cli("poll", "--once")
    slip, total = sorted(receipts(cli), key=lambda r: r["filename"])
    assert slip["status"] == "unmatched" and "1,00" in slip["reason"] \
        and "10,89" in slip["reason"] and "disagree" in slip["reason"]
    assert total["status"] == "unmatched" and "2,78" in total["reason"]
    assert {o["status"] for o in orders(cli).values()} == {"pending"}


# --- 3. a claim is not a proof ------------------------------------------------------------

def claim(sender: str, text: str = "Ho pagato RLM95055, importo 10,89") -> bytes:
    return build_email(MailSpec(sender=sender, sender_name="Qualcuno", subject="Pagamento",
                                body=f"Buongiorno,\n{text}\nSaluti"))


def test_3_a_claim_goes_to_review_and_the_customer_is_asked_once(office) -> None:  # noqa: ANN001
    workdir, cli, drop = office
    drop("a.eml", claim("sconosciuto@example.org"))
    cli("poll", "--once")
    drop("b.eml", claim("sconosciuto@example.org", "Vi ho scritto: pagato RLM95055, 10,89"))
    cli("poll", "--once")
    first, second = receipts(cli)
    for receipt in (first, second):
        assert receipt["status"] == "unmatched"
        assert receipt["reason"].startswith("no bank document")
    assert orders(cli)["RLM95055"]["status"] == "pending"
    (request,) = outbox(workdir)  # asked once, however often the claim arrives
    text = (workdir / "var/outbox" / request).read_text()
    assert request.startswith("proof-request_bank_document")
    assert "sconosciuto@example.org" in text and "banca" in text


def test_3_accepted_claims_need_the_registered_address_and_a_cro(workdir: Path, cli) -> None:  # noqa: ANN001
    """GIVEN [matching] accept_written_claims = true THEN a claim from the customer's own
    address quoting a TRN pays; the same claim from another address does not."""
    (workdir / "pec.toml").write_text("[matching]\naccept_written_claims = true\n")
    (workdir / "orders.csv").write_text(orders_csv([ROSSI, BIANCHI]))
    run = lambda *args: cli("--config", "pec.toml", *args)  # noqa: E731
    run("orders", "import", "orders.csv")
    inbox = workdir / "var/inbox"
    inbox.mkdir(parents=True)
    text = "ho pagato l'ordine RLM95055, importo 10,89, TRN 0306912345678901"
    (inbox / "1.eml").write_bytes(claim("someone@example.org", text))
    (inbox / "2.eml").write_bytes(claim(ROSSI.customer_email, text))
    run("poll", "--once")
    stranger, customer = run("receipts", "list", "--json").json()
    assert stranger["status"] == "unmatched" and "registered address" in stranger["reason"]
    assert customer["status"] == "matched" and customer["order_codes"] == ["RLM95055"]


def test_3_a_print_of_the_booking_page_is_not_the_bank_receipt(office) -> None:  # noqa: ANN001
    """GIVEN the customer sends the order's own booking page (amount to pay, our IBAN, the
    code) as a PDF in place of the bank's receipt THEN nothing is paid, the reviewer reads
    why, and the customer is asked once for the bank's confirmation."""
    workdir, cli, drop = office
    page = receipt_pdf(ReceiptSpec(), [
        "Operazione completata con successo",
        "L'ordine di rinnovo della casella è stato confermato con successo.",
        "Il codice identificativo dell'ordine è RLM95055.", "Riepilogo Pagamento",
        "Importo da versare: 10,89", "Da versare per mezzo: BONIFICO BANCARIO",
        f"Intestatario: Lextel S.p.a. IBAN: {iban_groups(OUR_IBAN)}"])
    drop("ordine.eml", build_email(MailSpec(
        sender=ROSSI.customer_email, subject="Pagamento RLM95055",
        body="Buongiorno, in allegato il pagamento.", attachments=[
            ("ordine.pdf", "application/pdf", page)])))
    cli("poll", "--once")
    (receipt,) = receipts(cli)
    assert receipt["status"] == "unmatched" and receipt["reason"].startswith("no bank document")
    assert "payment instructions" in receipt["reason"] and "RLM95055" in receipt["codes"]
    assert orders(cli)["RLM95055"]["status"] == "pending"
    (request,) = outbox(workdir)
    assert request.startswith("proof-request_bank_document")


# --- 4. hidden text is not evidence -------------------------------------------------------

def test_4_hidden_html_text_is_not_the_causale(office) -> None:  # noqa: ANN001
    workdir, cli, drop = office
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "x@example.org", "amm@example.it", "Ricevuta"
    msg["Message-ID"] = "<hidden-1@example.org>"
    msg.set_content("In allegato la ricevuta.")
    msg.add_alternative(
        "<html><body><p>In allegato la ricevuta.</p>"
        '<p style="display:none">RLM95055</p>'
        '<span style="color:#ffffff">Causale RLM95055</span>'
        '<div style="font-size:0">RLM95055</div></body></html>', subtype="html")
    msg.get_payload()[0].set_content("In allegato la ricevuta.")
    msg.add_attachment(receipt_pdf(ReceiptSpec(codes=())), maintype="application",
                       subtype="pdf", filename="ricevuta.pdf")
    drop("hidden.eml", bytes(msg))
    cli("poll", "--once")
    (receipt,) = receipts(cli)
    assert receipt["status"] == "unmatched" and receipt["codes"] == []
    assert orders(cli)["RLM95055"]["status"] == "pending"


# --- 5. a shared logo never makes two payments one ------------------------------------------

def logo_png() -> bytes:
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (420, 90), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((5, 5, 80, 85), fill=(20, 40, 120))
    draw.text((100, 35), "STUDIO LEGALE ASSOCIATO", fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def with_logo(spec: ReceiptSpec, sender: str) -> bytes:
    return build_email(MailSpec(
        sender=sender, sender_name=spec.payer, subject=f"Pagamento {spec.codes[0]}",
        body="In allegato la ricevuta.\n--\nStudio Legale Associato",
        attachments=[("ricevuta.pdf", "application/pdf", receipt_pdf(spec)),
                     ("logo.png", "image/png", logo_png())]))


def test_5_two_customers_with_the_same_logo_both_pay_and_a_copy_is_a_duplicate(office) -> None:  # noqa: ANN001
    workdir, cli, drop = office
    rossi = ReceiptSpec(codes=("RLM95055",), payer="Mario Rossi", reference="0306911111111111")
    bianchi = ReceiptSpec(codes=("RLM95056",), amount=Decimal("21.78"), payer="Giulia Bianchi",
                          reference="0306922222222222")
    drop("1.eml", with_logo(rossi, ROSSI.customer_email))
    cli("poll", "--once")
    drop("2.eml", with_logo(bianchi, BIANCHI.customer_email))
    cli("poll", "--once")
    drop("3.eml", receipt_email(rossi, sender=ROSSI.customer_email))  # the same PDF again
    cli("poll", "--once")
    first, second, third = receipts(cli)
    assert (first["status"], second["status"]) == ("matched", "matched")
    assert second["order_codes"] == ["RLM95056"]
    assert third["status"] == "duplicate" and third["duplicate_of"] == first["id"]
    assert [r["id"] for r in receipts(cli, "duplicate")] == [third["id"]]
    assert {o["status"] for o in orders(cli).values()} == {"paid"}
    db = Database(database_url(workdir))
    with db.session() as session:  # the review queue counts what it set aside
        page = queue.queue_page(session, queue.QueueFilters(), today=date.today(),
                                page_size=10, urgent_days=14)
    db.dispose()
    assert page.duplicates == 1 and page.waiting == 0
    # a duplicate stays within reach: a person can put it back in the queue
    assert cli("receipts", "requeue", str(third["id"])).code == 0
    assert [r["id"] for r in receipts(cli, "unmatched")] == [third["id"]]


# --- 6. settings and order data -------------------------------------------------------------

@pytest.mark.parametrize("text", ["[renewal]\ndelay_hours = nan\n",
                                  "[renewal]\ndelay_hours = inf\n",
                                  "[renewal]\ndelay_hours = 1e300\n",
                                  '[matching]\nunderpayment_tolerance = "NaN"\n',
                                  '[matching]\nunderpayment_tolerance = "Infinity"\n'])
def test_6_settings_that_are_no_number_exit_2_with_one_line(tmp_path: Path, text: str) -> None:
    (tmp_path / "pec.toml").write_text(text)
    result = run_subprocess("--config", "pec.toml", "poll", "--once", cwd=tmp_path)
    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert "pec.toml: " in line and ("delay_hours" in line or "tolerance" in line)


def test_6_bad_order_rows_are_rejected_with_line_and_reason(workdir: Path, cli) -> None:  # noqa: ANN001
    header = "code,userid,pec_address,customer_name,customer_email,amount,expiry_date,years"
    rows = ["RLM95055,U1,a@pec.it,Mario Rossi,m@example.com,10.89,2026-04-22,1",
            "RLM95056,U2,b@pec.it,Anna Verdi,a@example.com,10.89,9999-12-31,1",
            "RLM95057,U3,c@pec.it,Luca Neri,l@example.com,123456789012.00,2026-04-22,1",
            "RLM９５０５８,U4,d@pec.it,Sara Gallo,s@example.com,10.89,2026-04-22,1",
            "RLM95059,U5,e@pec.it,Nul\x00Name,n@example.com,10.89,2026-04-22,1"]
    (workdir / "orders.csv").write_text("\n".join([header, *rows]) + "\n")
    result = cli("orders", "import", "orders.csv")
    assert "line 3" in result.out + result.err and "2000-2100" in result.out + result.err
    assert "line 4" in result.out + result.err and "largest amount" in result.out + result.err
    assert "line 6" in result.out + result.err and "U+0000" in result.out + result.err
    assert sorted(orders(cli)) == ["RLM95055", "RLM95058"]  # fullwidth digits read as ASCII


def test_6_a_far_expiry_never_crashes_a_decision_or_the_renewal_run(workdir: Path, cli) -> None:  # noqa: ANN001
    """GIVEN orders whose expiry (from an older import) is 9999-12-31 and 9999-06-30 beside a
    normal one, renewals due at once WHEN their receipts arrive THEN every receipt is decided,
    the far ones end renewal_failed with a reason, the normal one is renewed, and every mail
    behind them goes out."""
    (workdir / "pec.toml").write_text("[renewal]\ndelay_hours = 0\n")
    run = lambda *args: cli("--config", "pec.toml", *args)  # noqa: E731
    third = OrderSpec("RLM95057", Decimal("32.67"), "Luca Neri", "luca.neri@example.com",
                      expiry_date=EXPIRY)
    (workdir / "orders.csv").write_text(orders_csv([ROSSI, BIANCHI, third]))
    run("orders", "import", "orders.csv")
    db = Database(database_url(workdir))
    with db.session() as session:
        for code, far in (("RLM95055", "9999-12-31"), ("RLM95056", "9999-06-30")):
            session.execute(update(OrderRow).where(OrderRow.code == code).values(
                expiry_date=datetime.fromisoformat(far).date()))
    db.dispose()
    inbox = workdir / "var/inbox"
    inbox.mkdir(parents=True)
    for spec, order in ((ReceiptSpec(codes=("RLM95055",), reference="0306900000000001"), ROSSI),
                        (ReceiptSpec(codes=("RLM95056",), amount=Decimal("21.78"),
                                     payer="Giulia Bianchi", reference="0306900000000002"),
                         BIANCHI),
                        (ReceiptSpec(codes=("RLM95057",), amount=Decimal("32.67"),
                                     payer="Luca Neri", reference="0306900000000003"), third)):
        (inbox / f"{order.code}.eml").write_bytes(receipt_email(spec,
                                                                sender=order.customer_email))
    result = run("poll", "--once")
    assert result.code == 0 and "3 matched" in result.out
    book = {o["code"]: o for o in run("orders", "list", "--json").json()}
    assert book["RLM95057"]["status"] == "renewed"
    for code in ("RLM95055", "RLM95056"):
        assert book[code]["status"] == "renewal_failed"
    mails = outbox(workdir)
    assert len([m for m in mails if m.startswith("payment-received")]) == 3
    assert len([m for m in mails if m.startswith("renewal-done")]) == 1


# --- 7. one mail per event, in the order of the events ------------------------------------------

def smtp_config(folder: Path, port: int, timeout: float = 2) -> Path:
    config = folder / "pec.toml"
    config.write_text(
        '[database]\nurl = "sqlite:///var/intake.sqlite3"\n'
        '[[sources]]\nname = "inbox"\nkind = "folder"\npath = "var/inbox"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout_seconds = {timeout}\n'
        "retry_seconds = 0\n[renewal]\ndelay_hours = 0\n")
    return config


def queue_one_payment(folder: Path, server: SmtpServer) -> None:
    """The order book, and a payment taken in while the SMTP server is down: its two mails
    (payment received, then renewal done) wait in the outbox."""
    (folder / "orders.csv").write_text(orders_csv([ROSSI]))
    run_subprocess("--config", "pec.toml", "orders", "import", "orders.csv", cwd=folder)
    (folder / "var/inbox").mkdir(parents=True, exist_ok=True)
    (folder / "var/inbox/1.eml").write_bytes(receipt_email(ReceiptSpec()))
    down = run_subprocess("--config", "pec.toml", "poll", "--once", cwd=folder)
    assert "1 matched" in down.out and "0 mail(s) sent" in down.out, down


def test_7_a_slow_smtp_conversation_is_cut_at_one_deadline(tmp_path: Path) -> None:
    """GIVEN an SMTP server that answers each command in 1.2 s (each reply well within the 2 s
    timeout, the conversation not) WHEN the outbox sends THEN the send ends at the deadline
    and is retried; nothing arrives twice, and once the server is quick it arrives once."""
    server = SmtpServer()
    try:
        smtp_config(tmp_path, server.port)
        queue_one_payment(tmp_path, server)
        server.start()
        server.reply_delay = 1.2
        started = time.monotonic()
        slow = run_subprocess("--config", "pec.toml", "poll", "--once", cwd=tmp_path)
        # "1 to retry" is the proof that the deadline cut it (each reply alone is in time);
        # the bound only catches a hang, with room for a loaded machine's slow start
        assert time.monotonic() - started < 60
        assert "0 mail(s) sent, 1 to retry" in slow.out, slow
        assert server.messages() == []
        server.reply_delay = 0.0
        quick = run_subprocess("--config", "pec.toml", "poll", "--once", cwd=tmp_path)
        assert "2 mail(s) sent" in quick.out, quick
        subjects = [m["Subject"] for m in server.messages()]
        assert len(subjects) == 2 and len({m["Message-ID"] for m in server.messages()}) == 2
    finally:
        server.close()


def _attempts(workdir: Path) -> int:
    """Send attempts the outbox has counted (each claim of a mail counts one)."""
    db = Database(f"sqlite:///{workdir}/var/intake.sqlite3")
    try:
        with db.session() as session:
            return session.scalar(select(func.coalesce(func.sum(OutgoingMailRow.attempts), 0)))
    finally:
        db.dispose()


def _wait_for_a_claim(workdir: Path, process: subprocess.Popen, before: int,
                      limit: float = 60) -> None:
    """Until ``process`` has claimed a mail (one more attempt than ``before``), so the next
    poll certainly runs while that mail is on its way."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        if _attempts(workdir) > before:
            return
        time.sleep(0.05)
    raise AssertionError("the first poll never claimed a mail while it ran")


def test_7_two_polls_during_a_slow_send_send_it_once(tmp_path: Path) -> None:
    """GIVEN a server slow enough that a conversation takes ~1.5 s of its 4 s deadline WHEN a
    second poll runs in the middle of it THEN the claim's lease keeps it off that mail: the
    customer gets each mail once."""
    server = SmtpServer()
    try:
        smtp_config(tmp_path, server.port, timeout=4)
        queue_one_payment(tmp_path, server)
        server.start()
        server.reply_delay = 0.7
        command = [sys.executable, str(ROOT / "run.py"), "--config", "pec.toml", "poll",
                   "--once"]
        before = _attempts(tmp_path)  # the tries made while the server was down
        first = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
        _wait_for_a_claim(tmp_path, first, before)  # not a fixed sleep: a loaded machine
        second = run_subprocess("--config", "pec.toml", "poll", "--once", cwd=tmp_path)
        out, _ = first.communicate(timeout=60)
        assert "0 mail(s) sent" in second.out
        sent = [m["Message-ID"] for m in server.messages()]
        assert len(sent) == len(set(sent)) == 2, (out, second.out)
    finally:
        server.close()


def test_7_a_later_mail_of_an_order_waits_for_the_earlier_one(tmp_path: Path) -> None:
    """GIVEN an order's 'payment received' mail held by a claim whose sender crashed mid-send
    (its lease still running) and its 'renewal done' mail due WHEN a poll runs THEN the
    renewal mail waits; when the lease is over both leave, payment first."""
    server = SmtpServer()
    try:
        smtp_config(tmp_path, server.port)
        queue_one_payment(tmp_path, server)
        server.start()
        db = Database(f"sqlite:///{tmp_path}/var/intake.sqlite3")
        with db.session() as session:
            first, later = session.scalars(select(OutgoingMailRow).order_by(
                OutgoingMailRow.id)).all()
            assert (first.template, later.template) == ("payment_received", "renewal_done")
            first.next_attempt_at = datetime.now(UTC) + timedelta(hours=1)  # the lease
        held = run_subprocess("--config", "pec.toml", "poll", "--once", cwd=tmp_path)
        assert "0 mail(s) sent" in held.out and server.messages() == []
        with db.session() as session:
            session.execute(update(OutgoingMailRow).values(next_attempt_at=None))
        db.dispose()
        back = run_subprocess("--config", "pec.toml", "poll", "--once", cwd=tmp_path)
        assert "2 mail(s) sent" in back.out
        subjects = [m["Subject"] for m in server.messages()]
        assert "Pagamento ricevuto" in subjects[0] and "Rinnovo" in subjects[1], subjects
    finally:
        server.close()
