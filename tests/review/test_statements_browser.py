"""In a real headless Chromium (Debian's, driven by Playwright): the bank's unmatched lines
page, and an order's proof and statement line shown side by side (the proof's column to the
left of the bank's, at the same height)."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.app.test_statements_cli import (
    COLOMBO_SHORT,
    ROMANO_NO_CODE,
    ROMANO_PROOF,
)
from tests.review.test_statements_web import PASSWORD, bank_day_one
from tests.servers.browser import free_port, launch, needs_chromium

pytestmark = needs_chromium



@pytest.fixture
def served(workdir: Path, cli):  # noqa: ANN001, ANN201
    import uvicorn

    from review.web import create_app
    settings, db = bank_day_one(workdir, cli, "viewer")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    db.dispose()


def test_bank_lines_and_side_by_side_order_page(served: str) -> None:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(viewport={"width": 1400, "height": 900},
                                   locale="it-IT").new_page()
        errors: list[str] = []
        page.on("response", lambda r: errors.append(r.url) if r.status == 404 else None)
        page.goto(served + "/statements")
        assert "/login" in page.url
        page.fill("input[name=username]", "anna")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/statements")
        rows = page.locator("table.bank-lines tbody tr")
        assert rows.count() == 1
        assert COLOMBO_SHORT.reference in rows.first.inner_text()
        rows.first.locator("a", has_text="RLM95059").click()
        page.wait_for_url("**/orders/RLM95059")
        assert "Nessun movimento bancario" in page.inner_text(".bank-side")

        page.goto(served + "/orders/RLM95058")
        proof, bank = page.locator(".proof-side"), page.locator(".bank-side")
        assert ROMANO_PROOF.reference in proof.inner_text()
        assert ROMANO_NO_CODE.reference in bank.inner_text()
        assert ROMANO_NO_CODE.causale in bank.inner_text()
        left, right = proof.bounding_box(), bank.bounding_box()
        assert left and right and left["x"] + left["width"] <= right["x"]  # side by side
        assert abs(left["y"] - right["y"]) < 2
        assert errors == []
        browser.close()
