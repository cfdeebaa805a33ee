"""The review UI's routes in process: sessions, permissions, CSRF, lock-out, escaping, every
action, and two reviewers on one receipt."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from review.users import set_disabled
from store.models import AuditRow, MessageRow, OrderRow, OutgoingMailRow, RenewalJobRow
from tests.factories.review import PASSWORD, csrf_of, login, make_world


@pytest.fixture
def world(tmp_path: Path):  # noqa: ANN201
    w = make_world(tmp_path)
    w.user("anna")
    w.user("bruno")
    w.user("vera", role="viewer")
    return w


def status(world, receipt_id: int) -> str:  # noqa: ANN001
    with world.db.session() as session:
        return session.get(MessageRow, receipt_id).status


def order(world, code: str) -> OrderRow:  # noqa: ANN001
    with world.db.session() as session:
        return session.scalar(select(OrderRow).where(OrderRow.code == code))


def mails(world, code: str | None = None) -> list[OutgoingMailRow]:  # noqa: ANN001
    with world.db.session() as session:
        rows = session.scalars(select(OutgoingMailRow).order_by(OutgoingMailRow.id)).all()
        return [m for m in rows if code is None or code in m.event_key]


# --- sessions and permissions -------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/queue", "/queue.json", "/receipts/1",
                                  "/orders/RLM96100"])
def test_nothing_but_login_without_a_session(world, path: str) -> None:
    response = world.client().get(path, follow_redirects=False)
    assert response.status_code in (303, 401)
    if response.status_code == 303:
        assert response.headers["location"].startswith("/login")


def test_login_page_has_the_contract_fields_and_static_is_public(world) -> None:
    client = world.client()
    page = client.get("/login")
    assert 'name="username"' in page.text and 'name="password"' in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/htmx-2.0.11.min.js").status_code == 200


def test_session_cookie_is_httponly_strict_and_headers_forbid_inline_script(world) -> None:
    client = world.client()
    response = login(client, "anna")
    cookie = response.history[0].headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http here; Secure over https
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in response.text and " on" + "click=" not in response.text


def test_wrong_password_is_refused_and_the_right_one_enters(world) -> None:
    client = world.client()
    login(client, "anna", "sbagliata", expect=401)
    assert client.get("/queue", follow_redirects=False).status_code == 303
    login(client, "anna")
    assert client.get("/queue").status_code == 200


def test_five_failures_in_fifteen_minutes_lock_the_name_out(world) -> None:
    """GIVEN five wrong passwords WHEN the right one follows THEN it is refused until the
    first failure is 15 minutes old."""
    client = world.client()
    for _ in range(5):
        login(client, "anna", "sbagliata", expect=401)
    locked = login(client, "anna", expect=429)
    assert "bloccato" in locked.text
    world.clock.advance(minutes=16)
    login(client, "anna")


def test_disabled_user_cannot_log_in_and_their_session_ends(world) -> None:
    client = world.client("anna")
    with world.db.session() as session:
        set_disabled(session, "anna", True)
    assert client.get("/queue", follow_redirects=False).status_code == 303
    login(world.client(), "anna", expect=401)


def test_login_from_another_site_or_with_a_forged_token_is_refused(world) -> None:
    client = world.client()
    client.get("/login")
    form = {"username": "anna", "password": PASSWORD}
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "null"}):
        assert client.post("/login", data=form, headers=headers).status_code == 403
    assert client.post("/login", data={**form, "csrf": "forged"}).status_code == 403
    assert client.get("/queue", follow_redirects=False).status_code == 303
    # a script posting the two fields of the contract, from no web page at all, logs in
    assert client.post("/login", data=form).status_code == 200
    assert client.get("/queue").status_code == 200


def test_open_redirect_after_login_is_refused(world) -> None:
    client = world.client()
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"username": "anna", "password": PASSWORD,
                                           "csrf": token, "next": "//evil.example/"},
                           follow_redirects=False)
    assert response.headers["location"] == "/queue"


def test_a_change_without_csrf_is_refused_and_changes_nothing(world) -> None:
    rid = world.short_payment(0)
    client = world.client("anna")
    code = world.orders[0].code
    for data in ({"order_codes": code}, {"order_codes": code, "csrf": "forged"}):
        response = client.post(f"/receipts/{rid}/match", data={**data, "confirmed": "1"})
        assert response.status_code == 403
    assert status(world, rid) == "unmatched" and order(world, code).status == "pending"


def test_a_viewer_looks_but_cannot_act(world) -> None:
    rid = world.short_payment(0)
    client = world.client("vera")
    page = client.get(f"/receipts/{rid}")
    assert page.status_code == 200 and "Abbina (Invio)" not in page.text
    token = csrf_of(client)
    for path, data in ((f"/receipts/{rid}/match", {"order_codes": world.orders[0].code,
                                                    "confirmed": "1"}),
                       (f"/receipts/{rid}/dismiss", {"reason": "spam"})):
        response = client.post(path, data={**data, "csrf": token})
        assert response.status_code == 403
    assert status(world, rid) == "unmatched"


# --- escaping -----------------------------------------------------------------------------

def test_text_from_emails_is_escaped_never_interpreted(world) -> None:
    rid = world.short_payment(1, subject="<script>alert(1)</script> pagamento")
    client = world.client("anna")
    for path in ("/queue", f"/receipts/{rid}"):
        text = client.get(path).text
        assert "<script>alert(1)</script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


# --- the queue ----------------------------------------------------------------------------

def test_queue_lists_unmatched_receipts_with_links_counts_and_search(world) -> None:
    short = world.short_payment(0)
    nocode = world.no_code(2)
    client = world.client("anna")
    page = client.get("/queue")
    assert f'href="/receipts/{short}"' in page.text and f'href="/receipts/{nocode}"' in page.text
    data = client.get("/queue.json").json()
    assert data["waiting"] == 2
    # a customer's own words without the bank's document wait for it
    assert {kind for kind, _label, _n in data["by_reason"]} == {"amount", "no_bank_document"}
    found = client.get("/queue.json", params={"q": world.orders[0].code}).json()
    assert [i["id"] for i in found["items"]] == [short]
    by_amount = client.get("/queue.json", params={"q": f"{world.orders[0].order.amount - 1:.2f}"
                                                  .replace(".", ",")}).json()
    assert [i["id"] for i in by_amount["items"]] == [short]
    only = client.get("/queue.json", params={"reason": "no_bank_document"}).json()
    assert [i["id"] for i in only["items"]] == [nocode]


def test_queue_puts_a_mailbox_about_to_lapse_first(world) -> None:
    late = world.short_payment(5)    # order 5 expires 2026-04-06
    world.clock.advance(days=1)
    newer = world.short_payment(0)   # order 0 expires 2026-04-01, arrived later
    client = world.client("anna")
    world.clock.advance(days=10)     # both within urgent_days (14): soonest expiry first
    assert [i["id"] for i in client.get("/queue.json").json()["items"]] == [newer, late]


# --- the receipt page ---------------------------------------------------------------------

def test_receipt_page_shows_the_match_form_candidates_evidence_and_page_images(world) -> None:
    rid = world.short_payment(0)
    client = world.client("anna")
    page = client.get(f"/receipts/{rid}")
    assert f'<form method="post" action="/receipts/{rid}/match" data-action="match"' in page.text
    assert 'name="order_codes"' in page.text
    data = client.get(f"/receipts/{rid}.json").json()
    top = data["candidates"][0]
    assert top["code"] == world.orders[0].code
    assert any(e["kind"] == "amount" and e["good"] is False for e in top["evidence"])
    assert any(h["field"] == "code" for d in data["documents"] for h in d["highlights"])
    image = re.search(r'src="(/receipts/\d+/documents/\d+/pages/1\.png)"', page.text).group(1)
    png = client.get(image)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_a_receipt_without_a_code_gets_candidates_of_its_amount_and_payer(world) -> None:
    rid = world.no_code(3)
    data = world.client("anna").get(f"/receipts/{rid}.json").json()
    assert world.orders[3].code in [c["code"] for c in data["candidates"]]


# --- actions ------------------------------------------------------------------------------

def match(client, rid: int, *codes: str, **extra: str):  # noqa: ANN001, ANN201
    return client.post(f"/receipts/{rid}/match", data={
        "csrf": csrf_of(client, f"/receipts/{rid}"), "order_codes": list(codes), **extra},
        follow_redirects=False)


def test_match_with_a_different_amount_asks_for_confirmation_then_pays_once(world) -> None:
    rid = world.short_payment(0)
    other = world.short_payment(1)
    code = world.orders[0].code
    client = world.client("anna")
    asked = match(client, rid, code)
    assert asked.status_code == 200 and 'data-action="confirm"' in asked.text
    assert order(world, code).status == "pending"
    done = match(client, rid, code, confirmed="1")
    assert done.status_code == 303 and done.headers["location"].startswith(f"/receipts/{other}")
    paid = order(world, code)
    assert paid.status == "paid" and paid.paid_amount == world.orders[0].order.amount - 1
    assert status(world, rid) == "matched"
    assert len(mails(world, code)) == 1
    with world.db.session() as session:
        jobs = session.scalar(select(func.count()).select_from(RenewalJobRow).where(
            RenewalJobRow.order_id == paid.id))
        actors = set(session.scalars(select(AuditRow.actor).where(
            AuditRow.entity == "messages", AuditRow.entity_id == rid)))
    assert jobs == 1 and "person:anna" in actors
    again = match(client, rid, code, confirmed="1")
    assert again.status_code == 409 and len(mails(world, code)) == 1


def test_the_mail_of_a_persons_match_waits_the_undo_window_and_undo_restores(world) -> None:
    rid = world.short_payment(0)
    code = world.orders[0].code
    client = world.client("anna")
    match(client, rid, code, confirmed="1")
    (mail,) = mails(world, code)
    assert mail.next_attempt_at >= world.clock.now + timedelta(seconds=29)
    assert world.pipeline.deliver_mail() == (0, 0)  # nothing leaves inside the window
    page = client.get(f"/receipts/{rid}")
    assert 'data-action="undo"' in page.text
    undone = client.post(f"/receipts/{rid}/undo", data={"csrf": csrf_of(client)},
                         follow_redirects=False)
    assert undone.status_code == 303
    assert status(world, rid) == "unmatched" and order(world, code).status == "pending"
    assert mails(world, code)[0].status == "cancelled"
    assert rid in [i["id"] for i in client.get("/queue.json").json()["items"]]
    world.clock.advance(seconds=60)
    assert world.pipeline.deliver_mail() == (0, 0)


def test_undo_is_refused_once_the_window_closed_and_the_mail_then_leaves(world) -> None:
    rid = world.short_payment(0)
    client = world.client("anna")
    match(client, rid, world.orders[0].code, confirmed="1")
    world.clock.advance(seconds=31)
    response = client.post(f"/receipts/{rid}/undo", data={"csrf": csrf_of(client)})
    assert response.status_code == 409
    assert world.pipeline.deliver_mail() == (1, 0)


def test_dismiss_duplicate_requeue_and_proof_request(world) -> None:
    first = world.short_payment(0)
    second = world.short_payment(1)
    third = world.no_code(2, sender="cliente2@example.com")
    client = world.client("anna")
    token = csrf_of(client)
    assert client.post(f"/receipts/{first}/dismiss", data={"csrf": token, "reason": ""}) \
        .status_code == 400
    assert client.post(f"/receipts/{first}/dismiss",
                       data={"csrf": token, "reason": "una domanda, non un pagamento"},
                       follow_redirects=False).status_code == 303
    assert status(world, first) == "dismissed"
    assert client.post(f"/receipts/{second}/duplicate", data={"csrf": token, "of": str(first)},
                       follow_redirects=False).status_code == 303
    assert status(world, second) == "duplicate"
    for rid in (first, second):
        assert client.post(f"/receipts/{rid}/requeue", data={"csrf": token},
                           follow_redirects=False).status_code == 303
        assert status(world, rid) == "unmatched"
    preview = client.get(f"/receipts/{third}/request/missing_code")
    assert "codice" in preview.text and "cliente2@example.com" in preview.text
    sent = client.post(f"/receipts/{third}/request/missing_code", data={"csrf": token},
                       follow_redirects=False)
    assert sent.status_code == 303
    assert client.post(f"/receipts/{third}/request/missing_code",
                       data={"csrf": token}).status_code == 409
    assert len([m for m in mails(world)
                if m.event_key.startswith("proof-request:missing_code:")]) == 1


def test_two_reviewers_one_receipt_the_second_decision_is_refused(world) -> None:
    """GIVEN anna and bruno open the same receipt WHEN anna matches it and bruno then
    dismisses it from his stale page THEN bruno is told and nothing of his applies."""
    rid = world.short_payment(0)
    anna, bruno = world.client("anna"), world.client("bruno")
    anna_page = anna.get(f"/receipts/{rid}").text
    bruno_page = bruno.get(f"/receipts/{rid}").text
    assert "in lavorazione da anna" in bruno_page
    assert "in lavorazione da" not in anna_page
    version = re.search(r'name="version" value="(\d+)"', bruno_page).group(1)
    match(anna, rid, world.orders[0].code, confirmed="1", version=version)
    refused = bruno.post(f"/receipts/{rid}/dismiss", data={
        "csrf": csrf_of(bruno), "reason": "spam", "version": version})
    assert refused.status_code == 409 and "modificata nel frattempo" in refused.text
    assert status(world, rid) == "matched" and len(mails(world)) == 1


def test_order_page_shows_history_receipts_mails_and_renewal(world) -> None:
    rid = world.short_payment(0)
    code = world.orders[0].code
    client = world.client("anna")
    match(client, rid, code, confirmed="1")
    data = client.get(f"/orders/{code}.json").json()
    assert data["status"] == "paid" and [r["id"] for r in data["receipts"]] == [rid]
    assert len(data["mails"]) == 1 and len(data["renewals"]) == 1
    assert any(h["new_value"] == "paid" for h in data["history"])
    assert client.get(f"/orders/{code}").status_code == 200


def test_a_receipt_left_for_another_is_free_again(world) -> None:
    first, second = world.short_payment(0), world.short_payment(1)
    anna, bruno = world.client("anna"), world.client("bruno")
    anna.get(f"/receipts/{first}")
    assert "in lavorazione da anna" in bruno.get(f"/receipts/{first}").text
    anna.get(f"/receipts/{second}")
    assert "in lavorazione da" not in bruno.get(f"/receipts/{first}").text
    queue_page = anna.get("/queue").text
    assert "in lavorazione da bruno" in queue_page
