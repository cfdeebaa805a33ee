"""The review UI's bank side: unmatched credit lines in a queue of their own, and an order's
page showing its proof and its statement line side by side."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config.settings import load_settings
from review import users
from review.web import create_app
from store.db import Database
from tests.app.test_statements_cli import (
    COLOMBO_SHORT,
    DAY_ONE,
    ESPOSITO,
    ROMANO_NO_CODE,
    ROMANO_PROOF,
    ROSSI,
    ROSSI_PROOF,
    _mails,
    _world,
    _write,
)
from tests.factories.statements import Statement, Transfer, camt

PASSWORD = "password-di-prova"


def bank_day_one(workdir: Path, cli, role: str):  # noqa: ANN001, ANN201
    """GIVEN two proofs taken in and the first day's statement imported, and a person
    ``anna`` of ``role``: the settings and database the UI is served on."""
    _world(workdir, cli, proofs=(ROSSI_PROOF, ROMANO_PROOF))
    cli("poll", "--once")
    cli("statements", "import", _write(workdir, "day1.xml", camt(DAY_ONE)))
    settings = load_settings()
    db = Database(settings.database_url)
    with db.session() as session:
        users.add_user(session, "anna", role, PASSWORD)
    return settings, db


@pytest.fixture
def client(workdir: Path, cli):  # noqa: ANN001, ANN201
    settings, db = bank_day_one(workdir, cli, "accountant")
    web = TestClient(create_app(settings, db), base_url="http://127.0.0.1")
    form = web.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    assert web.post("/login", data={"csrf": csrf, "username": "anna", "password": PASSWORD,
                                    "next": "/queue"}, follow_redirects=False).status_code == 303
    yield web
    db.dispose()


def test_unmatched_credit_lines_have_their_own_queue(client: TestClient) -> None:
    page = client.get("/statements")
    assert page.status_code == 200
    assert "Movimenti bancari da abbinare" in page.text and 'href="/statements"' in page.text
    assert COLOMBO_SHORT.reference in page.text and "mancano 1,00 su 10,89" in page.text
    assert ROSSI.reference not in page.text and ESPOSITO.reference not in page.text  # matched
    data = client.get("/statements.json").json()
    assert data["total"] == 1 and data["total_amount"] == "9.89"
    (line,) = data["lines"]
    assert (line["payer"], line["amount"], line["reference"]) == (
        "Marco Colombo", "9.89", COLOMBO_SHORT.reference)
    assert [c["code"] for c in line["candidates"]][:1] == ["RLM95059"]


def test_login_is_required_for_the_bank_queue(workdir: Path, cli) -> None:  # noqa: ANN001
    cli("init")
    settings = load_settings()
    anonymous = TestClient(create_app(settings, Database(settings.database_url)),
                           base_url="http://127.0.0.1")
    assert anonymous.get("/statements", follow_redirects=False).status_code == 303
    assert anonymous.get("/statements.json").status_code == 401


def test_order_page_shows_proof_and_statement_line_side_by_side(client: TestClient) -> None:
    page = client.get("/orders/RLM95058").text
    side = page[page.index('class="side-by-side"'):page.index("<h2>Ricevute</h2>")]
    proof = side[side.index('class="proof-side"'):side.index('class="bank-side"')]
    bank = side[side.index('class="bank-side"'):]
    # the reference that links them, on both sides; the line's causale has no code
    assert ROMANO_PROOF.reference in proof and ROMANO_NO_CODE.reference in bank
    assert "Francesca Romano" in proof and "Francesca Romano" in bank
    assert ROMANO_NO_CODE.causale in bank and "conferma il pagamento" in bank
    assert "Confermato dall'estratto conto." in page
    data = client.get("/orders/RLM95058.json").json()["bank"]
    assert data["bank_confirmed"] is True
    assert [p["transfer_ref"] for p in data["proofs"]] == [ROMANO_PROOF.reference]
    assert [(ln["reference"], ln["role"]) for ln in data["lines"]] == [
        (ROMANO_NO_CODE.reference, "confirmed")]
    # a line alone: the bank side only
    alone = client.get("/orders/RLM95057.json").json()["bank"]
    assert alone["proofs"] == [] and alone["lines"][0]["role"] == "paid"
    assert "Nessuna prova di pagamento" in client.get("/orders/RLM95057").text


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_a_person_matches_or_dismisses_a_line(client: TestClient, workdir: Path,
                                             cli) -> None:  # noqa: ANN001
    stray = Transfer(Decimal("50.00"), "RIMBORSO FORNITORE", "0306900000000777",
                     payer="Fornitore Srl", booked=date(2026, 3, 17))
    cli("statements", "import", _write(workdir, "day2.xml", camt(Statement(
        [stray], day=date(2026, 3, 17), number=2))))
    lines = {ln["reference"]: ln for ln in client.get("/statements.json").json()["lines"]}
    short, other = lines[COLOMBO_SHORT.reference], lines[stray.reference]
    csrf = _csrf(client.get("/statements").text)
    # 9,89 for an order of 10,89: the person must confirm the difference
    refused = client.post(f"/statements/{short['id']}/match",
                          data={"csrf": csrf, "order_codes": "RLM95059"},
                          follow_redirects=False)
    assert refused.status_code == 409 and "conferma" in refused.text
    done = client.post(f"/statements/{short['id']}/match", follow_redirects=False,
                       data={"csrf": csrf, "order_codes": "rlm95059", "confirmed": "1"})
    assert done.status_code == 303
    again = client.post(f"/statements/{short['id']}/match", follow_redirects=False,
                        data={"csrf": csrf, "order_codes": "RLM95059", "confirmed": "1"})
    assert again.status_code == 409
    assert client.post(f"/statements/{other['id']}/dismiss", follow_redirects=False,
                       data={"csrf": "wrong", "reason": "x"}).status_code == 403
    assert client.post(f"/statements/{other['id']}/dismiss", follow_redirects=False,
                       data={"csrf": csrf, "reason": "rimborso di un fornitore"}
                       ).status_code == 303
    assert client.get("/statements.json").json()["lines"] == []
    listed = {ln["reference"]: ln for ln in cli("statements", "list", "--json").json()}
    assert (listed[COLOMBO_SHORT.reference]["status"],
            listed[COLOMBO_SHORT.reference]["order_codes"]) == ("matched", ["RLM95059"])
    assert "matched by anna" in listed[COLOMBO_SHORT.reference]["reason"]
    assert listed[stray.reference]["status"] == "ignored"
    order = {o["code"]: o for o in cli("orders", "list", "--json").json()}["RLM95059"]
    assert (order["status"], order["paid_amount"], order["bank_confirmed"]) == (
        "paid", "9.89", True)
    assert f"payment-received:RLM95059:line-{short['id']}" in _mails(workdir)
