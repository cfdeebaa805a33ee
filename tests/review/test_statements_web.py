"""The review UI's bank side: unmatched credit lines in a queue of their own, and an order's
page showing its proof and its statement line side by side."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher
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
    _world,
    _write,
)
from tests.factories.statements import camt

PASSWORD = "password-di-prova"


@pytest.fixture
def client(workdir: Path, cli, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", fast)
    monkeypatch.setattr(users, "_DUMMY_HASH", fast.hash("timing"))
    _world(workdir, cli, proofs=(ROSSI_PROOF, ROMANO_PROOF))
    cli("poll", "--once")
    cli("statements", "import", _write(workdir, "day1.xml", camt(DAY_ONE)))
    settings = load_settings()
    db = Database(settings.database_url)
    with db.session() as session:
        users.add_user(session, "anna", "accountant", PASSWORD)
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
    assert COLOMBO_SHORT.reference in page.text and "1,00 short of 10,89" in page.text
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
