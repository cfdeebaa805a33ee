"""The queue's reason kinds (a table: reason as the pipeline writes it -> kind) and its
filters and pages."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from review import queue
from tests.factories.review import make_world


@pytest.mark.parametrize("reason, kind", [
    ("code RLM95059 found; amount 9,89 is 1,00 short of 10,89", "amount"),
    ("no order code (RLM...) found, and the sender is not a known customer", "no_code"),
    ("no order code found; the sender has 2 pending orders of 10,89: RLM1, RLM2", "no_code"),
    ("paid to IBAN IT60X0542811101000000123456, which is not ours; never paid automatically",
     "foreign_iban"),
    ("possible double payment: order RLM95055 is already paid", "double_payment"),
    ("code RLM95055 may be misread: pending order(s) RLM95056 are one character away",
     "uncertain_code"),
    ("code(s) RLM99999 found; no such order", "unknown_code"),
    ("no bank document: only the customer's own text says it was paid", "no_bank_document"),
    ("payment dated 2026-01-02 is before order RLM95055 was placed (2026-02-01)", "date"),
    ("fax.tif: needs OCR (image, no text layer)", "unreadable"),
    ("something new", "other"),
    (None, "other"),
])
def test_reason_kind(reason: str | None, kind: str) -> None:
    assert queue.reason_kind(reason) == kind
    assert kind in queue.REASON_LABELS


def test_filters_by_source_and_date_and_pages(tmp_path: Path) -> None:
    world = make_world(tmp_path, count=6)
    early = [world.short_payment(i) for i in range(3)]
    world.clock.advance(days=2)
    late = [world.short_payment(i) for i in range(3, 6)]
    with world.db.session() as session:
        def ids(**filters: object) -> list[int]:
            page = queue.queue_page(session, queue.QueueFilters(**filters),
                                    today=world.clock().date(), page_size=2, urgent_days=0)
            return [i.id for i in page.items]
        assert ids() == early[:2]
        assert ids(page=2) == [early[2], late[0]]
        assert ids(page=99) == late[1:]          # past the end: the last page
        day = world.clock().date()
        assert ids(date_from=day) == late[:2]
        assert ids(date_to=day - timedelta(days=1)) == early[:2]
        assert ids(source="fax") == []
        assert ids(source="inbox") == early[:2]
        assert ids(method="bonifico") == early[:2]
        assert ids(q="100%_") == []              # LIKE wildcards are searched as text


def test_a_receipt_opened_before_the_queue_is_indexed_keeps_its_kind_and_search(
        tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.user("anna")
    rid = world.short_payment(0)
    client = world.client("anna")
    assert client.get(f"/receipts/{rid}").status_code == 200   # before any queue read
    found = client.get("/queue.json", params={"q": world.orders[0].code}).json()
    assert [(i["id"], i["reason_kind"]) for i in found["items"]] == [(rid, "amount")]
