"""End to end in a real headless Chromium (Debian's, driven by Playwright): log in, open the
queue, open a receipt, match it with the keyboard, see the order paid and one mail queued;
undo another match and see it back in the queue. Also writes the README's screenshots."""
from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from store.models import MessageRow, OrderRow, OutgoingMailRow
from tests.factories.review import PASSWORD, make_world
from tests.servers.browser import free_port, launch, needs_chromium

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = needs_chromium



@pytest.fixture
def served(tmp_path: Path):  # noqa: ANN201
    import uvicorn

    from review.web import create_app
    # the UI runs on the real clock (the undo window is real time): mailboxes that expire
    # soon from today, so they renew online
    world = make_world(tmp_path, count=8, review={"undo_seconds": 30},
                       expiry=date.today() + timedelta(days=20))
    world.user("anna")
    world.receipts = [world.short_payment(i) for i in (0, 1, 2)] + [world.no_code(4)]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(world.settings, world.db),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    world.url = f"http://127.0.0.1:{port}"
    yield world
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(served):  # noqa: ANN001, ANN201
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="it-IT")
        tab = context.new_page()
        errors: list[str] = []
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.errors = errors
        yield tab
        browser.close()


def _login(page, world) -> None:  # noqa: ANN001
    page.goto(world.url + "/queue")
    assert "/login" in page.url
    page.fill("input[name=username]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/queue")


def test_match_with_the_keyboard_then_undo_another(served, page) -> None:  # noqa: ANN001
    world = served
    _login(page, world)
    rows = page.locator("tr[data-row]")
    assert rows.count() == 4
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "queue.png"))
    first = world.receipts[0]
    code = world.orders[0].code
    page.keyboard.press("Enter")                      # opens the selected (first) receipt
    page.wait_for_url(f"**/receipts/{first}")
    page.locator(".page img").first.wait_for()
    page.wait_for_load_state("networkidle")
    page.keyboard.press("1")                          # picks the top candidate
    assert page.locator("input[data-candidate='1']").is_checked()
    page.screenshot(path=str(SHOTS / "receipt.png"))
    page.keyboard.press("Enter")                      # match
    page.wait_for_selector("form[data-action=confirm]")  # 1,00 short: confirm
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/receipts/*?done={first}*")
    assert "abbinata" in page.locator("#done-banner").inner_text()
    with world.db.session() as session:
        paid = session.scalar(select(OrderRow).where(OrderRow.code == code))
        sent = session.scalars(select(OutgoingMailRow).where(
            OutgoingMailRow.order_id == paid.id)).all()
    assert paid.status == "paid" and len(sent) == 1

    # the next receipt opened by itself: match it too, then undo from the banner
    second = int(page.url.split("/receipts/")[1].split("?")[0])
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("form[data-action=confirm]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**?done={second}*")
    page.keyboard.press("u")
    page.wait_for_url(f"**/receipts/{second}?notice=undone")
    with world.db.session() as session:
        assert session.get(MessageRow, second).status == "unmatched"
        mail = [m for m in session.scalars(select(OutgoingMailRow).order_by(OutgoingMailRow.id))
                if m.event_key.startswith("payment-received")]
    assert [m.status for m in mail] == ["queued", "cancelled"]
    page.goto(world.url + "/queue")
    assert page.locator(f"a[href='/receipts/{second}']").count() == 1
    assert page.locator(f"a[href='/receipts/{first}']").count() == 0
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors


def test_help_opens_with_question_mark_and_escape_closes(served, page) -> None:  # noqa: ANN001
    _login(page, served)
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()


def test_ask_for_the_missing_code_with_a_previewed_mail(served, page) -> None:  # noqa: ANN001
    """htmx (vendored, under the CSP) loads the Italian mail's preview; Enter sends it, once."""
    world = served
    _login(page, world)
    receipt = world.receipts[3]
    page.goto(f"{world.url}/receipts/{receipt}")
    page.keyboard.press("c")
    preview = page.locator("[data-preview]")
    preview.wait_for()
    assert "codice" in preview.inner_text() and "sconosciuto@example.net" in preview.inner_text()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/receipts/{receipt}?notice=requested")
    assert page.locator("button[data-key=c]").is_disabled()
    with world.db.session() as session:
        asked = [m for m in session.scalars(select(OutgoingMailRow))
                 if m.event_key.startswith(f"proof-request:missing_code:{receipt}")]
    assert len(asked) == 1
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors
