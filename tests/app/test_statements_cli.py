"""Bank statements through the CLI (CONTRACT.md, "Bank statements"), on the stories of the
receipts: a proof and its line, a line alone, a proof alone, a short line, a reference link
without a code in the causale, a debit line, an overlapping statement; in every format."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.statements import business_days_between, flag_unconfirmed
from config.settings import load_settings
from store.db import Database
from store.models import OutgoingMailRow
from store.statements import summary
from tests.factories.receipts import (
    OrderSpec,
    ReceiptSpec,
    body_only_email,
    orders_csv,
    receipt_pdf,
)
from tests.factories.scenario import ORDERS
from tests.factories.statements import WRITERS, Statement, Transfer, camt

ROSSI_PROOF = ReceiptSpec(codes=("RLM95055",), payer="Mario Rossi", style="intesa",
                          reference="0306912345678901")
ROMANO_PROOF = ReceiptSpec(codes=("RLM95058",), amount=Decimal("32.67"),
                           payer="Francesca Romano", style="fineco", code_style="lower",
                           reference="0306900000000004")
BIANCHI_PROOF = ReceiptSpec(codes=("RLM95056",), amount=Decimal("21.78"),
                            payer="Giulia Bianchi", style="unicredit", code_style="dash",
                            reference="0306900000000002", paid_on=date(2026, 3, 15))

ROSSI = Transfer(Decimal("10.89"), "Rinnovo PEC ordine RLM95055", "0306912345678901")
ESPOSITO = Transfer(Decimal("10.89"), "RINNOVO CASELLA PEC RLM95057", "0306900000000003",
                    payer="Luca Esposito")
COLOMBO_SHORT = Transfer(Decimal("9.89"), "rinnovo RLM95059", "0306900000000005",
                         payer="Marco Colombo")
ROMANO_NO_CODE = Transfer(Decimal("32.67"), "Rinnovo casella PEC studio", "0306900000000004",
                          payer="Francesca Romano")
FEE = Transfer(Decimal("1.50"), "Commissioni", "FEE0000000000001", payer="Banca Sella",
               credit=False)
GRECO = Transfer(Decimal("10.89"), "rlm 95061", "0306900000000007", payer="Paolo Greco",
                 booked=date(2026, 3, 17))

DAY_ONE = Statement([ROSSI, ESPOSITO, COLOMBO_SHORT, ROMANO_NO_CODE, FEE])
# overlaps day one (Esposito, Colombo) and brings one new line
DAY_TWO = Statement([ESPOSITO, COLOMBO_SHORT, GRECO], day=date(2026, 3, 17), number=2,
                    opening=DAY_ONE.closing)


def _world(workdir: Path, cli, paid_on: str | None = None, grace: int = 5,  # noqa: ANN001
           proofs: tuple[ReceiptSpec, ...] = (), database_url: str | None = None,
           orders: list[OrderSpec] | None = None) -> list[str]:
    """The order book, the config (``[matching] paid_on``, ``[database] url``) and the
    proofs in the inbox; returns the arguments that select the config."""
    args: list[str] = []
    toml = ""
    if paid_on:
        toml += f'[matching]\npaid_on = "{paid_on}"\nstatement_grace_days = {grace}\n'
    if database_url:
        toml += f'[database]\nurl = "{database_url}"\n'
    if toml:
        (workdir / "pec.toml").write_text(toml)
        args = ["--config", str(workdir / "pec.toml")]
    (workdir / "orders.csv").write_text(orders_csv(orders or ORDERS))
    assert cli(*args, "orders", "import", str(workdir / "orders.csv")).code == 0
    inbox = workdir / "var/inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    for spec in proofs:
        (inbox / f"{spec.codes[0]}.pdf").write_bytes(receipt_pdf(spec))
    return args


def _write(workdir: Path, name: str, data: bytes) -> str:
    path = workdir / name
    path.write_bytes(data)
    return str(path)


def _orders(cli, args: list[str]) -> dict[str, dict]:  # noqa: ANN001
    return {o["code"]: o for o in cli(*args, "orders", "list", "--json").json()}


def _lines(cli, args: list[str], *status: str) -> dict[str, dict]:  # noqa: ANN001
    out = cli(*args, "statements", "list", "--json", *(("--status", status[0]) if status else ()))
    return {line["reference"]: line for line in out.json()}


def _mails(workdir: Path) -> list[str]:
    config = workdir / "pec.toml"
    db = Database(load_settings(config if config.exists() else None).database_url)
    with db.session() as session:
        keys = sorted(session.scalars(select(OutgoingMailRow.event_key)))
    db.dispose()
    return keys


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_statement_confirms_proofs_and_pays_lines_alone(workdir: Path, cli, fmt: str) -> None:  # noqa: ANN001
    _sample_day(workdir, cli, fmt)


def _sample_day(workdir: Path, cli, fmt: str) -> None:  # noqa: ANN001
    """(``workdir`` runs every such test on SQLite and again on PostgreSQL.)"""
    args = _world(workdir, cli, proofs=(ROSSI_PROOF, ROMANO_PROOF, BIANCHI_PROOF))
    assert all(o["bank_confirmed"] is None for o in _orders(cli, args).values())
    assert cli(*args, "poll", "--once").code == 0
    receipts = {r["order_codes"][0]: r["id"]
                for r in cli(*args, "receipts", "list", "--json").json()
                if r["status"] == "matched"}
    assert set(receipts) == {"RLM95055", "RLM95056", "RLM95058"}

    first = cli(*args, "statements", "import", _write(workdir, "day1", WRITERS[fmt](DAY_ONE)))
    assert first.code == 0, first.err
    assert first.out.splitlines()[0].endswith("5 line(s) read, 5 new, 0 already known, "
                                              "0 rejected")
    assert fmt.split("-")[0] in first.out.splitlines()[0]
    lines = _lines(cli, args)
    assert set(lines) == {ROSSI.reference, ESPOSITO.reference, COLOMBO_SHORT.reference,
                          ROMANO_NO_CODE.reference}  # credit lines only
    rossi, esposito = lines[ROSSI.reference], lines[ESPOSITO.reference]
    # a proof and its line: the line confirms the proof's payment, pays nothing again
    assert (rossi["status"], rossi["order_codes"], rossi["receipt_id"]) == (
        "matched", ["RLM95055"], receipts["RLM95055"])
    assert rossi["amount"] == "10.89" and rossi["booking_date"] == "2026-03-16"
    assert "RLM95055" in rossi["remittance"] and "rossi" in rossi["payer"].lower()
    # a line alone pays its order
    assert (esposito["status"], esposito["order_codes"]) == ("matched", ["RLM95057"])
    # a short line goes to review with the reason
    short = lines[COLOMBO_SHORT.reference]
    assert short["status"] == "unmatched" and "1,00 short of 10,89" in short["reason"]
    # the reference links line and proof though the causale names no order
    romano = lines[ROMANO_NO_CODE.reference]
    assert (romano["status"], romano["order_codes"], romano["receipt_id"]) == (
        "matched", ["RLM95058"], receipts["RLM95058"])
    # the debit line is kept and ignored
    ignored = _lines(cli, args, "ignored")
    assert list(ignored) == [FEE.reference]
    assert ignored[FEE.reference]["direction"] == "debit"

    orders = _orders(cli, args)
    assert {c: (o["status"], o["bank_confirmed"]) for c, o in orders.items()} == {
        "RLM95055": ("paid", True), "RLM95056": ("paid", False),  # a proof alone
        "RLM95057": ("paid", True), "RLM95058": ("paid", True), "RLM95059": ("pending", False),
        "RLM95060": ("pending", False), "RLM95061": ("pending", False)}
    assert orders["RLM95057"]["receipt_ids"] == [] and orders["RLM95057"]["paid_amount"] == \
        "10.89"
    mails = _mails(workdir)
    assert mails == sorted([f"payment-received:RLM95055:{receipts['RLM95055']}",
                            f"payment-received:RLM95056:{receipts['RLM95056']}",
                            f"payment-received:RLM95058:{receipts['RLM95058']}",
                            f"payment-received:RLM95057:line-{esposito['id']}"])

    # the same file again, and an overlapping statement: nothing changes twice
    again = cli(*args, "statements", "import", str(workdir / "day1"))
    assert "5 line(s) read, 0 new, 5 already known" in again.out
    assert _lines(cli, args) == lines and _orders(cli, args) == orders
    second = cli(*args, "statements", "import", _write(workdir, "day2", WRITERS[fmt](DAY_TWO)))
    assert "3 line(s) read, 1 new, 2 already known, 0 rejected" in second.out
    after = _lines(cli, args)
    assert len(after) == 5 and after[GRECO.reference]["order_codes"] == ["RLM95061"]
    assert _orders(cli, args)["RLM95061"]["status"] == "paid"
    assert len(_mails(workdir)) == 5


def test_a_proof_after_its_line_is_the_same_payment(workdir: Path, cli) -> None:  # noqa: ANN001
    args = _world(workdir, cli)
    cli(*args, "statements", "import", _write(workdir, "day1.xml", camt(DAY_ONE)))
    line = _lines(cli, args)[ROSSI.reference]
    assert line["order_codes"] == ["RLM95055"]
    paid = _orders(cli, args)["RLM95055"]
    assert paid["status"] == "paid" and paid["bank_confirmed"] is True
    inbox = workdir / "var/inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "rossi.pdf").write_bytes(receipt_pdf(ROSSI_PROOF))
    # a proof without a CRO/TRN is recognised by its code and amount
    no_ref = replace(ROSSI_PROOF, codes=("RLM95057",), payer="Luca Esposito", reference="")
    (inbox / "esposito.pdf").write_bytes(receipt_pdf(no_ref))
    cli(*args, "poll", "--once")
    receipts = {r["codes"][0]: r for r in cli("receipts", "list", "--json").json()}
    assert [r["status"] for r in receipts.values()] == ["duplicate", "duplicate"]
    assert "bank statement line" in receipts["RLM95055"]["reason"]
    assert "same code RLM95057 and amount" in receipts["RLM95057"]["reason"]
    assert _orders(cli, args)["RLM95055"] == paid  # paid once
    assert _lines(cli, args)[ROSSI.reference]["receipt_id"] == receipts["RLM95055"]["id"]
    assert [k for k in _mails(workdir) if "RLM95055" in k] == \
        [f"payment-received:RLM95055:line-{line['id']}"]


def test_paid_on_statement_proofs_wait_for_the_bank(workdir: Path, cli) -> None:  # noqa: ANN001
    args = _world(workdir, cli, "statement", proofs=(ROSSI_PROOF, ROMANO_PROOF, BIANCHI_PROOF))
    cli(*args, "poll", "--once")
    receipts = {r["codes"][0]: r for r in cli(*args, "receipts", "list", "--json").json()}
    assert {c: r["status"] for c, r in receipts.items()} == {
        "RLM95055": "awaiting_bank", "RLM95056": "awaiting_bank", "RLM95058": "awaiting_bank"}
    assert all(o["status"] == "pending" for o in _orders(cli, args).values())
    assert _mails(workdir) == []
    cli(*args, "statements", "import", _write(workdir, "day1.sta", WRITERS["mt940"](DAY_ONE)))
    orders = _orders(cli, args)
    assert {c: o["status"] for c, o in orders.items() if o["status"] != "pending"} == {
        "RLM95055": "paid", "RLM95057": "paid", "RLM95058": "paid"}
    receipts = {r["codes"][0]: r for r in cli(*args, "receipts", "list", "--json").json()}
    assert receipts["RLM95055"]["status"] == "matched"
    assert receipts["RLM95055"]["order_codes"] == ["RLM95055"]
    # the line without a code took it from the proof its reference names
    assert receipts["RLM95058"]["status"] == "matched"
    assert receipts["RLM95056"]["status"] == "awaiting_bank"  # no line yet
    assert orders["RLM95055"]["receipt_ids"] == [receipts["RLM95055"]["id"]]
    assert len(_mails(workdir)) == 3 and all(":line-" in k for k in _mails(workdir))


def test_paid_on_proof_then_statement_flags_what_the_bank_never_showed(workdir: Path,
                                                                        cli) -> None:  # noqa: ANN001
    args = _world(workdir, cli, "proof_then_statement", grace=0,
                  proofs=(ROSSI_PROOF, BIANCHI_PROOF))
    cli(*args, "poll", "--once")
    orders = _orders(cli, args)
    # no statement imported yet: no line cannot mean anything
    assert orders["RLM95055"]["status"] == "paid" and orders["RLM95055"]["review_flag"] is None
    cli(*args, "statements", "import", _write(workdir, "day1.xml", camt(DAY_ONE)))
    orders = _orders(cli, args)
    assert (orders["RLM95055"]["review_flag"], orders["RLM95055"]["bank_confirmed"]) == (
        None, True)
    assert (orders["RLM95056"]["review_flag"], orders["RLM95056"]["bank_confirmed"]) == (
        "unconfirmed_by_bank", False)
    assert "no bank statement line after 0 business days" in \
        orders["RLM95056"]["review_reason"]
    db = Database(load_settings(workdir / "pec.toml").database_url)
    with db.session() as session:
        at_a_glance = summary(session)
    db.dispose()
    assert (at_a_glance["orders_unconfirmed"], at_a_glance["lines_unmatched"],
            at_a_glance["unmatched_amount"], at_a_glance["lines"]["matched"]) == (
        1, 2, "42.56", 2)
    assert at_a_glance["last_import_file"] == "day1.xml"
    # the bank's line arriving late clears the flag
    late = Transfer(BIANCHI_PROOF.amount, "RLM95056", BIANCHI_PROOF.reference,
                    payer="Giulia Bianchi", booked=date(2026, 3, 17))
    cli(*args, "statements", "import", _write(workdir, "day2.xml", camt(Statement(
        [late], day=date(2026, 3, 17), number=2))))
    orders = _orders(cli, args)
    assert (orders["RLM95056"]["review_flag"], orders["RLM95056"]["bank_confirmed"]) == (
        None, True)


def test_grace_days_wait_for_the_bank(workdir: Path, cli) -> None:  # noqa: ANN001
    args = _world(workdir, cli, "proof_then_statement", grace=5, proofs=(BIANCHI_PROOF,))
    cli(*args, "poll", "--once")
    cli(*args, "statements", "import", _write(workdir, "day1.xml", camt(DAY_ONE)))
    order = _orders(cli, args)["RLM95056"]
    assert order["review_flag"] is None and order["bank_confirmed"] is False
    # the days pass (as the daemon's due-job cycle sees them)
    settings = load_settings(workdir / "pec.toml")
    db = Database(settings.database_url)
    paid_at = datetime.fromisoformat(order["paid_at"])
    with db.session() as session:
        assert flag_unconfirmed(session, settings, paid_at + timedelta(days=4)) == 0
        assert flag_unconfirmed(session, settings, paid_at + timedelta(days=15)) == 1
        assert flag_unconfirmed(session, settings, paid_at + timedelta(days=16)) == 0  # once
    db.dispose()
    assert _orders(cli, args)["RLM95056"]["review_flag"] == "unconfirmed_by_bank"


def test_business_days_skip_weekends_italian_holidays_and_target_closing_days() -> None:
    assert business_days_between(date(2026, 3, 13), date(2026, 3, 16)) == 1  # Fri -> Mon
    # Thursday 2 April 2026 -> Thursday 9 April: Good Friday (TARGET) and Easter Monday
    assert business_days_between(date(2026, 4, 2), date(2026, 4, 9)) == 3
    assert business_days_between(date(2026, 6, 1), date(2026, 6, 3)) == 1  # 2 June
    assert business_days_between(date(2026, 6, 3), date(2026, 6, 3)) == 0


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol2;</Document>"""


def test_hostile_or_unknown_file_is_refused_and_kept(workdir: Path, cli) -> None:  # noqa: ANN001
    args = _world(workdir, cli)
    hostile = _write(workdir, "evil.xml", BILLION_LAUGHS)
    junk = _write(workdir, "notes.txt", b"just some words\n")
    good = _write(workdir, "day1.xml", camt(DAY_ONE))
    result = cli(*args, "statements", "import", hostile, junk, good, "missing.xml")
    assert result.code == 2 and "missing.xml" in result.err
    out = result.out.splitlines()
    assert out[0].startswith(f"{hostile}: refused: XML refused: it declares a DTD")
    assert out[1].startswith(f"{junk}: refused: not a bank statement")
    assert "5 line(s) read, 5 new" in out[2]  # the others were read all the same
    digest = hashlib.sha256(BILLION_LAUGHS).hexdigest()
    assert (workdir / "var/originals" / digest[:2] / digest[2:4] / digest).exists()
    assert len(_lines(cli, args)) == 4


def test_a_statement_over_the_size_limit_is_not_read(workdir: Path, cli) -> None:  # noqa: ANN001
    (workdir / "pec.toml").write_text("[limits]\nmax_message_bytes = 2048\n")
    big = _write(workdir, "big.xml", camt(DAY_ONE))
    result = cli("--config", str(workdir / "pec.toml"), "statements", "import", big)
    assert result.code == 0 and "over the limit of 2048" in result.out
    assert cli("--config", str(workdir / "pec.toml"), "statements", "list", "--json").json() \
        == []


def test_statement_settings_and_list_filter_are_validated(workdir: Path, cli) -> None:  # noqa: ANN001
    (workdir / "bad.toml").write_text('[matching]\npaid_on = "bank"\n')
    result = cli("--config", str(workdir / "bad.toml"), "statements", "list")
    assert result.code == 2 and "matching.paid_on" in result.err
    assert len(result.err.strip().splitlines()) == 1
    (workdir / "bad.toml").write_text("[matching]\nstatement_grace_days = -1\n")
    assert cli("--config", str(workdir / "bad.toml"), "statements", "list").code == 2
    bad_status = cli("statements", "list", "--status", "paid")
    assert bad_status.code == 2 and "--status" in bad_status.err
    assert cli("statements", "list", "--json").json() == []


def test_a_second_line_for_an_order_already_confirmed_is_a_possible_double_payment(
        workdir: Path, cli) -> None:  # noqa: ANN001
    args = _world(workdir, cli)
    cli(*args, "statements", "import", _write(workdir, "day1.xml", camt(DAY_ONE)))
    again = Transfer(Decimal("10.89"), "RLM95057 rinnovo", "0306900000000999",
                     payer="Luca Esposito", booked=date(2026, 3, 18))
    cli(*args, "statements", "import", _write(workdir, "day3.xml", camt(Statement(
        [again], day=date(2026, 3, 18), number=3))))
    line = _lines(cli, args)[again.reference]
    assert line["status"] == "unmatched" and "possible double payment" in line["reason"]
    order = _orders(cli, args)["RLM95057"]
    assert order["review_flag"] == "double_payment_review"
    assert len([k for k in _mails(workdir) if "RLM95057" in k]) == 1


def test_a_customers_own_words_are_confirmed_by_the_bank(workdir: Path, cli) -> None:  # noqa: ANN001
    """GIVEN an email body saying "ho pagato" (a claim, not a proof: it waits in review)
    WHEN the bank's line for that order and amount arrives
    THEN the line pays the order and the claim becomes its matched receipt."""
    args = _world(workdir, cli)
    greco = ReceiptSpec(codes=("RLM95061",), payer="Paolo Greco", reference="0306900000000007")
    (workdir / "var/inbox/greco.eml").write_bytes(
        body_only_email(greco, sender="paolo.greco@example.com"))
    cli(*args, "poll", "--once")
    (claim,) = cli(*args, "receipts", "list", "--json").json()
    assert claim["status"] == "unmatched" and "bank document" in claim["reason"]
    cli(*args, "statements", "import", _write(workdir, "day2.xml", camt(DAY_TWO)))
    (claim,) = cli(*args, "receipts", "list", "--json").json()
    assert (claim["status"], claim["order_codes"]) == ("matched", ["RLM95061"])
    order = _orders(cli, args)["RLM95061"]
    assert (order["status"], order["bank_confirmed"]) == ("paid", True)
    assert [k for k in _mails(workdir) if "payment-received:RLM95061" in k] == [
        f"payment-received:RLM95061:line-{_lines(cli, args)[GRECO.reference]['id']}"]


def test_lines_for_several_orders_for_support_on_another_account_and_reversed(
        workdir: Path, cli) -> None:  # noqa: ANN001
    kvis = OrderSpec("RLM95070", Decimal("10.89"), "Anna Neri", "anna.neri@example.com",
                     userid="KVIS0070")
    args = _world(workdir, cli, orders=ORDERS + [kvis])
    both = Transfer(Decimal("32.67"), "rinnovi RLM95055 e RLM95056", "0306900000000100")
    support = Transfer(Decimal("10.89"), "RLM95070", "0306900000000101", payer="Anna Neri")
    reversed_credit = Transfer(Decimal("10.89"), "RLM95057", "0306900000000102",
                               payer="Luca Esposito")
    xml = camt(Statement([both, support, reversed_credit]), "053", "001.08")
    xml = xml.replace(b"<AcctSvcrRef>E0306900000000102</AcctSvcrRef>",
                      b"<AcctSvcrRef>E0306900000000102</AcctSvcrRef>".replace(
                          b"<AcctSvcrRef>", b"<RvslInd>true</RvslInd><AcctSvcrRef>"))
    elsewhere = Statement([Transfer(Decimal("10.89"), "RLM95059", "0306900000000103",
                                    payer="Marco Colombo")],
                          account="IT60X0542811101000000123456", number=2)
    cli(*args, "statements", "import", _write(workdir, "a.xml", xml),
        _write(workdir, "b.xml", camt(elsewhere)))
    lines = _lines(cli, args)
    assert lines[both.reference]["order_codes"] == ["RLM95055", "RLM95056"]
    assert lines[support.reference]["order_codes"] == ["RLM95070"]
    assert lines[reversed_credit.reference]["status"] == "ignored"
    other = lines["0306900000000103"]
    assert other["status"] == "unmatched" and "not one of matching.our_ibans" in other["reason"]
    orders = _orders(cli, args)
    assert [orders[c]["status"] for c in ("RLM95055", "RLM95056", "RLM95057", "RLM95059",
                                           "RLM95070")] == [
        "paid", "paid", "pending", "pending", "support"]
    assert orders["RLM95055"]["paid_amount"] == "10.89"  # each at its own price
    assert "KVIS" in orders["RLM95070"]["status_reason"]
    assert any(k.startswith("payment-received-support:RLM95070:line-") for k in _mails(workdir))


def test_a_person_works_the_bank_lines_from_the_command_line(workdir: Path, cli) -> None:  # noqa: ANN001
    args = _world(workdir, cli)
    cli(*args, "statements", "import", _write(workdir, "day1.xml", camt(DAY_ONE)))
    lines = _lines(cli, args)
    short, romano = lines[COLOMBO_SHORT.reference], lines[ROMANO_NO_CODE.reference]
    done = cli(*args, "statements", "match", str(short["id"]), "RLM95059", "--by", "anna",
               "--reason", "commissione trattenuta dalla banca")
    assert done.code == 0 and done.out.strip() == f"line {short['id']}: matched (RLM95059)"
    again = cli(*args, "statements", "match", str(short["id"]), "RLM95059")
    assert again.code == 2 and "not unmatched" in again.err
    missing = cli(*args, "statements", "match", str(romano["id"]), "RLM99999")
    assert missing.code == 2 and "no order RLM99999" in missing.err
    assert cli(*args, "statements", "dismiss", str(romano["id"]), "--reason",
               "giroconto").code == 0
    lines = _lines(cli, args)
    assert lines[COLOMBO_SHORT.reference]["status"] == "matched"
    assert "matched by anna: commissione" in lines[COLOMBO_SHORT.reference]["reason"]
    assert _lines(cli, args, "ignored")[ROMANO_NO_CODE.reference]["reason"] == \
        "dismissed by cli: giroconto"
    order = _orders(cli, args)["RLM95059"]
    assert (order["status"], order["paid_amount"]) == ("paid", "9.89")


def test_status_counts_bank_lines_and_unconfirmed_orders(workdir: Path, cli) -> None:  # noqa: ANN001
    from prometheus_client import generate_latest

    from app.metrics import registry
    from app.status import collect
    args = _world(workdir, cli, "proof_then_statement", grace=0, proofs=(BIANCHI_PROOF,))
    assert cli(*args, "status", "--json").json()["bank"]["last_import_at"] is None
    cli(*args, "poll", "--once")
    cli(*args, "statements", "import", _write(workdir, "day1.xml", camt(DAY_ONE)))
    bank = cli(*args, "status", "--json").json()["bank"]
    # Colombo short and Romano without a proof wait; Rossi's and Esposito's lines paid
    assert (bank["lines"], bank["orders_unconfirmed"], bank["last_import_file"]) == (
        {"matched": 2, "unmatched": 2, "ignored": 0}, 1, "day1.xml")
    text = cli(*args, "status").out
    assert "bank statements: 2 credit line(s) unmatched (42.56 EUR), 1 order(s) unconfirmed" \
        in text
    settings = load_settings(workdir / "pec.toml")
    db = Database(settings.database_url)
    scraped = generate_latest(registry(lambda: collect(settings, db))).decode()
    db.dispose()
    assert 'pec_intake_bank_lines{status="unmatched"} 2.0' in scraped
    assert "pec_intake_orders_unconfirmed_by_bank 1.0" in scraped
